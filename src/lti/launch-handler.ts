import type { Request, Response } from 'express';
import type { Logger } from '../logger/logger.js';
import { allowFrameAncestor, canvasFrameAncestor } from './frame-policy.js';
import { decideAudience, launchFacts, type LtijsLaunchToken } from './launch-claims.js';
import type { LaunchStore, LtiIntegration, NrpsMember } from './launch-store.js';
import type { LaunchRefusal, LtiPages } from './lti-pages.js';
import type { LtijsProvider } from './ltijs-types.js';
import { toNrpsMember } from './nrps-compare.js';
import type { PlatformRegistry } from './platform-registry.js';

export interface LaunchHandlerDeps {
  lti: LtijsProvider;
  launches: LaunchStore;
  platforms: PlatformRegistry;
  pages: LtiPages;
  logger: Logger;
  clock: () => Date;
  /** Adds the first deployment of a key Dynamic Registration created (see the integrations service); true when added. */
  adoptFirstDeployment?: (integrationId: string, clientId: string, deploymentId: string) => Promise<boolean>;
  /** Told, on each course launch, whether Canvas sent the Names and Roles claim (the key has the scope). */
  noteNamesAndRoles?: (integrationId: string, clientId: string, granted: boolean) => Promise<void>;
}

/** What ltijs calls back with: a valid launch, or a refused id_token. */
export interface LaunchHandler {
  /** A launch ltijs validated: checks the deployment, snapshots the roster, hands the session over. */
  handleLaunch(token: LtijsLaunchToken, req: Request, res: Response): Promise<void>;
  /** An id_token ltijs refused: tells blocked cookies and replays apart from other refusals. */
  invalidToken(req: Request, res: Response): Promise<void>;
}

export function createLaunchHandler(deps: LaunchHandlerDeps): LaunchHandler {
  const { launches, platforms, pages, logger } = deps;
  return {
    async handleLaunch(token, _req, res) {
      // A platform-storage launch may show its read-only page inside the iframe without cookies.
      const inFrame = res.locals.ltiStorageLaunch === true ? ({ inFrame: true } as const) : {};
      const matches = await platforms.findByPlatform(token.iss, token.clientId);
      const [integration] = matches;
      if (matches.length !== 1 || !integration) {
        return pages.refuse(res, 400, matches.length === 0 ? 'unknown_platform' : 'ambiguous_platform', { issuer: token.iss, clientId: token.clientId });
      }
      const frameFor = canvasFrameAncestor(integration.canvasUrl);
      const facts = launchFacts(token);
      const adopted =
        facts.deploymentId !== null &&
        integration.lti.deploymentIds.length === 0 &&
        (await deps.adoptFirstDeployment?.(integration.id, token.clientId, facts.deploymentId).catch((err: unknown) => {
          logger.warn({ err, integrationId: integration.id }, 'adding the first deployment failed');
          return false;
        })) === true;
      if (!facts.deploymentId || (!adopted && !integration.lti.deploymentIds.includes(facts.deploymentId))) {
        return pages.refuse(res, 403, 'unknown_deployment', {
          issuer: token.iss,
          clientId: token.clientId,
          deploymentId: facts.deploymentId,
          integrationName: integration.name,
        }, frameFor);
      }
      const audience = decideAudience(facts);
      allowFrameAncestor(res, frameFor);
      if (audience.kind === 'student') {
        return pages.render(res, 200, 'nothing-here', { title: 'Nothing to do here', code: 'not_for_this_role', reason: audience.reason });
      }
      let handoff: string;
      if (audience.kind === 'admin') {
        handoff = await launches.createHandoff(integration.id, { kind: 'admin', label: integration.name, sub: facts.sub, name: facts.name, ...inFrame });
      } else {
        await deps.noteNamesAndRoles?.(integration.id, token.clientId, facts.nrpsUrl !== null).catch((err: unknown) => {
          logger.warn({ err, integrationId: integration.id }, 'recording the Names and Roles scope failed');
        });
        await snapshotNrps(deps, integration, audience.courseId, token, facts.nrpsUrl);
        handoff = await launches.createHandoff(integration.id, {
          kind: 'instructor',
          courseId: audience.courseId,
          courseTitle: audience.courseTitle,
          sub: facts.sub,
          name: facts.name,
          ...inFrame,
        });
      }
      // A launch Canvas signed for this pair proves the registration: it belongs to this integration now.
      await platforms.owners.claim({ issuer: token.iss, clientId: token.clientId }, integration.id, 'launch').catch((err: unknown) => logger.warn({ err }, 'recording LTI ownership failed'));
      logger.info({ integrationId: integration.id, kind: audience.kind }, 'LTI launch accepted');
      void launches.pruneHandoffs().catch(() => undefined);
      res.redirect(303, `/launch/handoff?token=${encodeURIComponent(handoff)}`);
    },

    async invalidToken(req, res) {
      const err = (res.locals.err ?? {}) as { details?: { message?: string } };
      const message = err.details?.message ?? '';
      const idToken = typeof req.body?.id_token === 'string' ? (req.body.id_token as string) : undefined;
      const claims = idToken ? decodeUnverified(idToken) : undefined;
      let frameFor: string | null = null;
      let canvasUrl: string | null = null;
      if (claims?.iss && typeof claims.aud === 'string') {
        const m = await platforms.findByPlatform(String(claims.iss), claims.aud).catch(() => []);
        const [only] = m;
        if (m.length === 1 && only) {
          frameFor = canvasFrameAncestor(only.canvasUrl);
          canvasUrl = only.canvasUrl;
        }
      }
      if (message === 'MISSING_VALIDATION_COOKIE') {
        // Either the browser dropped ltijs's state cookie (third-party cookies blocked), or this id_token
        // was already used: a nonce we have seen means replay.
        const seen = claims?.nonce ? await deps.lti.Database.Get(false, 'nonce', { nonce: String(claims.nonce) }).catch(() => false) : false;
        if (seen) return pages.refuse(res, 401, 'replayed', {}, frameFor);
        allowFrameAncestor(res, frameFor);
        return pages.render(res, 401, 'new-window', { title: 'Continue in a new window', code: 'cookies_blocked', continueUrl: null, canvasUrl });
      }
      return pages.refuse(res, 401, refusalFor(message), { issuer: claims?.iss ? String(claims.iss) : undefined }, frameFor);
    },
  };
}

/** Fetches the NRPS member list for the course and stores it; failures are stored, never fatal. */
async function snapshotNrps(deps: LaunchHandlerDeps, integration: LtiIntegration, courseId: string, token: LtijsLaunchToken, nrpsUrl: string | null): Promise<void> {
  let members: NrpsMember[] = [];
  let error: string | null = null;
  if (!nrpsUrl) {
    error = 'Canvas did not send the Names and Roles claim (is the NRPS scope enabled on the LTI key?).';
  } else {
    try {
      const result = await withTimeout(deps.lti.NamesAndRoles.getMembers(token, { resourceLinkId: true, limit: 100, pages: false }), 15000);
      members = (result.members ?? []).map(toNrpsMember);
    } catch (err) {
      const e = err as { message?: string; response?: { statusCode?: number } };
      error = `Names and Roles request failed${e.response?.statusCode ? ` (HTTP ${e.response.statusCode})` : ''}: ${String(e.message ?? err).slice(0, 200)}`;
      deps.logger.warn({ integrationId: integration.id, courseId, err: e.message }, 'NRPS fetch failed');
    }
  }
  await deps.launches.saveNrpsSnapshot(integration.id, courseId, { members, error, fetchedAt: deps.clock().toISOString() });
}

function refusalFor(ltijsMessage: string): LaunchRefusal {
  switch (ltijsMessage) {
    case 'invalid signature':
    case 'KEY_NOT_FOUND':
    case 'KID_NOT_FOUND':
    case 'INVALID_JWT_RECEIVED':
    case 'ALG_NOT_RS256':
    case 'invalid algorithm':
      return 'bad_signature';
    case 'jwt expired':
    case 'TOKEN_TOO_OLD':
      return 'expired';
    case 'NONCE_ALREADY_RECEIVED':
      return 'nonce_reused';
    case 'ISS_CLAIM_DOES_NOT_MATCH':
      return 'issuer_mismatch';
    case 'UNREGISTERED_PLATFORM':
    case 'PLATFORM_NOT_ACTIVATED':
      return 'unknown_platform';
    default:
      return 'invalid_launch';
  }
}

function decodeUnverified(jwt: string): Record<string, unknown> | undefined {
  try {
    const payload = jwt.split('.')[1];
    if (payload === undefined) return undefined;
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
