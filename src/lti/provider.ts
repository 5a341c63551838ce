import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { Eta } from 'eta';
import ltijs from 'ltijs';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger/logger.js';
import type { Store } from '../store/database.js';
import type { HostResolver } from '../net/guarded-fetch.js';
import { platformEndpoints } from './canvas-platforms.js';
import { guardLtijsHttp } from './guarded-http.js';
import { KyselyLtiDatabase } from './kysely-lti-database.js';
import { allowFrameAncestor, canvasFrameAncestor, INSTRUCTURE_FRAME_ANCESTOR } from './frame-policy.js';
import { decideAudience, launchFacts, type LtijsLaunchToken } from './launch-claims.js';
import { createLaunchStore, type LaunchStore, type LtiIntegration, type NrpsMember } from './launch-store.js';
import type { LtijsProvider, LtijsRegistration } from './ltijs-types.js';
import { createPlatformOwners } from './platform-owners.js';
import { toNrpsMember } from './nrps-compare.js';
import { canvasToolConfiguration } from './tool-config.js';

const VIEWS_DIR = join(import.meta.dirname, '..', '..', 'views');

/** Why a launch was refused; rendered as `data-code` on the page so tests and support can tell them apart. */
export type LaunchRefusal =
  | 'unknown_platform'
  | 'ambiguous_platform'
  | 'missing_client_id'
  | 'unknown_deployment'
  | 'bad_signature'
  | 'expired'
  | 'nonce_reused'
  | 'replayed'
  | 'issuer_mismatch'
  | 'session_expired'
  | 'invalid_launch'
  | 'unavailable';

/** The LTI feature as the container sees it: the `/lti` mount plus registration upkeep. */
export interface LtiFeature {
  /** ltijs's Express app: mount at `/lti` BEFORE any body parser. */
  handler: RequestHandler;
  frameAncestors: string[];
  launches: LaunchStore;
  /** Brings ltijs's platform list in line with one integration (register, update or remove). */
  syncIntegration(integrationId: string): Promise<void>;
  /** Brings ltijs's platform list in line with every integration; removes stale platforms. */
  reconcile(): Promise<void>;
  close(): Promise<void>;
}

export interface LtiDeps {
  config: Pick<Config, 'publicUrl' | 'secureCookies'> & Partial<Pick<Config, 'allowInsecureCanvasUrls'>>;
  store: Pick<Store, 'db' | 'dialect'>;
  /** Source of the ltijs encryption key (HKDF from the vault's oldest session secret). */
  vault: { sessionSecrets(): string[] };
  logger: Logger;
  clock?: () => Date;
  /** Name resolution for ltijs's outbound calls (tests). */
  resolve?: HostResolver;
}

let setUp = false;

/** True once {@link createLtiFeature} ran in this process (ltijs cannot be set up twice, even after close). */
export function ltiAlreadySetUp(): boolean {
  return setUp;
}

/**
 * ltijs's encryption key (signs its cookies and ltik, encrypts its key pairs). Derived from the
 * vault's OLDEST session secret, so a SECRET_KEY rotation does not change it until the old key is
 * dropped; {@link LtiFeature.reconcile} then re-creates key pairs it can no longer decrypt.
 */
export function ltijsKey(vault: LtiDeps['vault']): string {
  const secrets = vault.sessionSecrets();
  const base = secrets[secrets.length - 1];
  return Buffer.from(hkdfSync('sha256', base, 'canvas-companion', 'ltijs-encryption-key', 32)).toString('base64url');
}

/**
 * Sets up ltijs 5.9 once per process (a second call throws, like ltijs itself), on the service's
 * database, with the launch handling of issue 5. Register `close()` with the container's onClose.
 * @throws Error when called twice in one process, or when ltijs's database cannot be reached.
 */
export async function createLtiFeature(deps: LtiDeps): Promise<LtiFeature> {
  if (setUp) throw new Error('LTI provider already set up in this process (ltijs is a singleton)');
  setUp = true;
  const { config, logger } = deps;
  // JWKS, token endpoint, Names and Roles: the same outbound guard as every other call.
  guardLtijsHttp({ allowInsecure: config.allowInsecureCanvasUrls ?? false, resolve: deps.resolve });
  const clock = deps.clock ?? (() => new Date());
  const launches = createLaunchStore({ db: deps.store.db, clock });
  const eta = new Eta({ views: VIEWS_DIR, cache: true });
  const lti = (ltijs as unknown as { Provider: LtijsProvider }).Provider;
  // ltijs's records live in the service's own store, in tables the migrations created. Checked here so
  // that a missing table or an unreachable database fails the start with the real error.
  const plugin = new KyselyLtiDatabase({ db: deps.store.db, dialect: deps.store.dialect, logger });
  await plugin.checkTables();

  const render = (res: Response, status: number, view: string, vm: Record<string, unknown>) => {
    res.status(status).type('html').send(eta.render(`lti/${view}`, { flash: [], identity: null, ...vm }));
  };
  const refuse = (res: Response, status: number, code: LaunchRefusal, detail: Record<string, unknown> = {}, frameFor?: string | null) => {
    logger.info({ code, ...detail }, 'LTI launch refused');
    allowFrameAncestor(res, frameFor ?? null);
    render(res, status, 'refused', { title: 'Launch refused', code, ...detail });
  };

  /**
   * ltijs's sub-app runs Express 4 with its default error handler, which would print a stack trace
   * outside production: every handler of ours catches and answers with this page instead.
   */
  const failure = (res: Response, err: unknown) => {
    logger.error({ err }, 'LTI request failed');
    if (!res.headersSent) render(res, 500, 'refused', { title: 'Something went wrong', code: 'unavailable' });
  };

  const owners = createPlatformOwners({ db: deps.store.db, clock });
  /** The integrations a pair resolves to; when several registered it, the one that owns it wins. */
  const findByPlatform = async (issuer: string, clientId: string): Promise<LtiIntegration[]> => {
    const matches = (await launches.listLtiIntegrations()).filter(
      (i) => i.lti.clientId === clientId && platformEndpoints(i.canvasUrl, i.lti).issuer === issuer,
    );
    if (matches.length < 2) return matches;
    const owner = await owners.holderOf({ issuer, clientId });
    const owned = matches.find((i) => i.id === owner?.integrationId);
    return owned ? [owned] : matches;
  };

  const registrationOf = (i: LtiIntegration): LtijsRegistration => {
    const ep = platformEndpoints(i.canvasUrl, i.lti);
    return {
      url: ep.issuer,
      name: i.id,
      clientId: i.lti.clientId,
      authenticationEndpoint: ep.authUrl,
      accesstokenEndpoint: ep.tokenUrl,
      authConfig: { method: 'JWK_SET', key: ep.jwksUrl },
    };
  };

  /**
   * ltijs's registerPlatform is check-then-insert: two concurrent calls for one platform would
   * leave its row pointing at one key pair and its key rows holding another. Serialise them, in
   * this process and (on Postgres) across the instances sharing the database.
   */
  let platformQueue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const locked = () => plugin.exclusive(fn);
    const run = platformQueue.then(locked, locked);
    platformQueue = run.catch(() => undefined);
    return run;
  };

  /** Registers or updates one platform; re-creates it when its key pair no longer decrypts. */
  const ensurePlatform = (i: LtiIntegration): Promise<void> => serialised(() => ensurePlatformNow(i));
  const ensurePlatformNow = async (i: LtiIntegration): Promise<void> => {
    const want = registrationOf(i);
    const have = await lti.getPlatform(want.url, want.clientId);
    if (have) {
      let keyOk = true;
      try {
        keyOk = Boolean(await have.platformPrivateKey());
      } catch {
        keyOk = false;
      }
      if (!keyOk) {
        await have.delete();
      } else {
        const cfg = await have.platformAuthConfig();
        const same =
          (await have.platformName()) === want.name &&
          (await have.platformAuthEndpoint()) === want.authenticationEndpoint &&
          (await have.platformAccessTokenEndpoint()) === want.accesstokenEndpoint &&
          cfg.method === want.authConfig.method &&
          cfg.key === want.authConfig.key;
        if (same) return;
      }
    }
    await lti.registerPlatform(want);
  };

  /** GET /lti/config.json?integration=:id — the developer key JSON Canvas fetches by URL. */
  const configJson: RequestHandler = async (req, res) => {
    try {
      const id = typeof req.query.integration === 'string' ? req.query.integration : '';
      const integration = id ? await launches.getIntegration(id) : undefined;
      if (!integration) {
        res.status(404).json({ error: { code: 'not_found', message: 'No integration with this id.', help: 'Copy the URL from the LTI page of your integration.' } });
        return;
      }
      res.json(canvasToolConfiguration(config.publicUrl));
    } catch (err) {
      failure(res, err);
    }
  };

  /**
   * Runs before ltijs's OIDC login: refuses launches no integration is registered for (issuer AND
   * client id, then deployment), keeps ltijs's platform entry in sync, and detects blocked cookies
   * (a probe cookie and one bounce) so the browser is offered a new window instead of failing later
   * with MISSING_VALIDATION_COOKIE.
   */
  const checkLogin: RequestHandler = async (req, res, next) => {
    // next() hands over to ltijs's login route; errors never reach Express 4's stack-printing handler.
    try {
      const params: Record<string, string> = {};
      for (const src of [req.query, req.body ?? {}]) {
        for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (typeof v === 'string') params[k] = v;
      }
      if (!params.iss || !params.login_hint || !params.target_link_uri) return next(); // ltijs answers MISSING_LOGIN_PARAMETERS
      if (!params.client_id) return refuse(res, 400, 'missing_client_id', { issuer: params.iss });
      const matches = await findByPlatform(params.iss, params.client_id);
      if (matches.length === 0) {
        await serialised(() => lti.deletePlatform(params.iss, params.client_id)).catch(() => undefined);
        return refuse(res, 400, 'unknown_platform', { issuer: params.iss, clientId: params.client_id });
      }
      if (matches.length > 1) return refuse(res, 409, 'ambiguous_platform', { issuer: params.iss, clientId: params.client_id });
      const integration = matches[0];
      const frameFor = canvasFrameAncestor(integration.canvasUrl);
      const deploymentId = params.lti_deployment_id ?? params.deployment_id;
      if (deploymentId && !integration.lti.deploymentIds.includes(deploymentId)) {
        return refuse(res, 403, 'unknown_deployment', { issuer: params.iss, clientId: params.client_id, deploymentId, integrationName: integration.name }, frameFor);
      }
      await ensurePlatform(integration);

      const cookies = (req as Request & { cookies?: Record<string, string> }).cookies ?? {};
      if (!cookies[PROBE_COOKIE]) {
        const clean = Object.fromEntries(Object.entries(params).filter(([k]) => k !== PROBE_PARAM));
        const url = `${req.baseUrl}${req.path}?${new URLSearchParams(clean).toString()}`;
        if (params[PROBE_PARAM] !== '1') {
          res.cookie(PROBE_COOKIE, '1', { ...probeCookieOptions, maxAge: 5 * 60 * 1000 });
          return res.redirect(302, `${url}&${PROBE_PARAM}=1`);
        }
        allowFrameAncestor(res, frameFor);
        logger.info({ integrationId: integration.id }, 'LTI login: cookies blocked in this frame, offering a new window');
        return render(res, 200, 'new-window', { title: 'Continue in a new window', code: 'cookies_blocked', continueUrl: url });
      }
      return next();
    } catch (err) {
      failure(res, err);
    }
  };
  const PROBE_COOKIE = 'cc_lti_probe';
  const PROBE_PARAM = 'cc_probe';
  const probeCookieOptions = config.secureCookies
    ? { httpOnly: true, secure: true, sameSite: 'none' as const }
    : { httpOnly: true, secure: false, sameSite: 'lax' as const };

  lti.setup(
    ltijsKey(deps.vault),
    { plugin },
    {
      appUrl: '/',
      loginUrl: '/login',
      keysetUrl: '/keys',
      // The tool's pages are rendered server-side: no cross-origin XHR needs CORS with credentials.
      cors: false,
      // Inside Canvas's iframe the cookies are third-party: they need SameSite=None, which needs Secure.
      cookies: config.secureCookies ? { secure: true, sameSite: 'None' } : { secure: false, sameSite: 'Lax' },
      devMode: false,
      // ltijs's default (10 s between Canvas signing the id_token and us checking it) refuses launches
      // over a slow redirect chain or a few seconds of clock skew; a minute is still single-use (nonce).
      tokenMaxAge: 60,
      serverAddon: (app: { get: Function; all: Function; use: Function }) => {
        app.get('/config.json', configJson);
        app.all('/login', checkLogin);
      },
    },
  );

  lti.onConnect(async (token, req, res) => {
    try {
      await handleLaunch(token, req, res);
    } catch (err) {
      failure(res, err);
    }
  });

  const handleLaunch = async (token: LtijsLaunchToken, req: Request, res: Response) => {
    const matches = await findByPlatform(token.iss, token.clientId);
    if (matches.length !== 1) {
      return refuse(res, 400, matches.length === 0 ? 'unknown_platform' : 'ambiguous_platform', { issuer: token.iss, clientId: token.clientId });
    }
    const integration = matches[0];
    const frameFor = canvasFrameAncestor(integration.canvasUrl);
    const facts = launchFacts(token);
    if (!facts.deploymentId || !integration.lti.deploymentIds.includes(facts.deploymentId)) {
      return refuse(res, 403, 'unknown_deployment', {
        issuer: token.iss,
        clientId: token.clientId,
        deploymentId: facts.deploymentId,
        integrationName: integration.name,
      }, frameFor);
    }
    const audience = decideAudience(facts);
    allowFrameAncestor(res, frameFor);
    if (audience.kind === 'student') {
      return render(res, 200, 'nothing-here', { title: 'Nothing to do here', code: 'not_for_this_role', reason: audience.reason });
    }
    let handoff: string;
    if (audience.kind === 'admin') {
      handoff = await launches.createHandoff(integration.id, { kind: 'admin', label: integration.name, sub: facts.sub, name: facts.name });
    } else {
      await snapshotNrps(integration, audience.courseId, token, facts.nrpsUrl);
      handoff = await launches.createHandoff(integration.id, {
        kind: 'instructor',
        courseId: audience.courseId,
        courseTitle: audience.courseTitle,
        sub: facts.sub,
        name: facts.name,
      });
    }
    // A launch Canvas signed for this pair proves the registration: it belongs to this integration now.
    await owners.claim({ issuer: token.iss, clientId: token.clientId }, integration.id, 'launch').catch((err: unknown) => logger.warn({ err }, 'recording LTI ownership failed'));
    logger.info({ integrationId: integration.id, kind: audience.kind }, 'LTI launch accepted');
    void launches.pruneHandoffs().catch(() => undefined);
    res.redirect(303, `/launch/handoff?token=${encodeURIComponent(handoff)}`);
  };

  /** Fetches the NRPS member list for the course and stores it; failures are stored, never fatal. */
  const snapshotNrps = async (integration: LtiIntegration, courseId: string, token: LtijsLaunchToken, nrpsUrl: string | null) => {
    let members: NrpsMember[] = [];
    let error: string | null = null;
    if (!nrpsUrl) {
      error = 'Canvas did not send the Names and Roles claim (is the NRPS scope enabled on the LTI key?).';
    } else {
      try {
        const result = await withTimeout(lti.NamesAndRoles.getMembers(token, { resourceLinkId: true, limit: 100, pages: false }), 15000);
        members = (result.members ?? []).map(toNrpsMember);
      } catch (err) {
        const e = err as { message?: string; response?: { statusCode?: number } };
        error = `Names and Roles request failed${e.response?.statusCode ? ` (HTTP ${e.response.statusCode})` : ''}: ${String(e.message ?? err).slice(0, 200)}`;
        logger.warn({ integrationId: integration.id, courseId, err: e.message }, 'NRPS fetch failed');
      }
    }
    await launches.saveNrpsSnapshot(integration.id, courseId, { members, error, fetchedAt: clock().toISOString() });
  };

  lti.onInvalidToken(async (req, res) => {
    try {
      await invalidToken(req, res);
    } catch (err) {
      failure(res, err);
    }
  });
  const invalidToken = async (req: Request, res: Response) => {
    const err = (res.locals.err ?? {}) as { details?: { message?: string } };
    const message = err.details?.message ?? '';
    const idToken = typeof req.body?.id_token === 'string' ? (req.body.id_token as string) : undefined;
    const claims = idToken ? decodeUnverified(idToken) : undefined;
    let frameFor: string | null = null;
    let canvasUrl: string | null = null;
    if (claims?.iss && typeof claims.aud === 'string') {
      const m = await findByPlatform(String(claims.iss), claims.aud).catch(() => []);
      if (m.length === 1) {
        frameFor = canvasFrameAncestor(m[0].canvasUrl);
        canvasUrl = m[0].canvasUrl;
      }
    }
    if (message === 'MISSING_VALIDATION_COOKIE') {
      // Either the browser dropped ltijs's state cookie (third-party cookies blocked), or this id_token
      // was already used: a nonce we have seen means replay.
      const seen = claims?.nonce ? await lti.Database.Get(false, 'nonce', { nonce: String(claims.nonce) }).catch(() => false) : false;
      if (seen) return refuse(res, 401, 'replayed', {}, frameFor);
      allowFrameAncestor(res, frameFor);
      return render(res, 401, 'new-window', { title: 'Continue in a new window', code: 'cookies_blocked', continueUrl: null, canvasUrl });
    }
    return refuse(res, 401, refusalFor(message), { issuer: claims?.iss ? String(claims.iss) : undefined }, frameFor);
  };
  lti.onSessionTimeout(async (_req, res) => refuse(res, 401, 'session_expired'));
  lti.onUnregisteredPlatform(async (req, res) => {
    const p = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    refuse(res, 400, 'unknown_platform', { issuer: p.iss, clientId: p.client_id });
  });
  lti.onInactivePlatform(async (_req, res) => refuse(res, 403, 'unknown_platform'));

  // What ltijs's deploy({ serverless: true }) does, minus its two process.exit() paths: it would call
  // process.exit() (exit code 0) when the database setup fails, and add a SIGINT handler that exits
  // without our graceful shutdown (src/main.ts owns that). Its only other step is the plugin's setup.
  await plugin.setup();

  const reconcile = () =>
    serialised(async () => {
      const integrations = await launches.listLtiIntegrations();
      const wanted = new Set<string>();
      for (const i of integrations) {
        const r = registrationOf(i);
        wanted.add(`${r.url}\n${r.clientId}`);
        await ensurePlatformNow(i);
      }
      for (const p of await lti.getAllPlatforms()) {
        if (!wanted.has(`${await p.platformUrl()}\n${await p.platformClientId()}`)) await p.delete();
      }
    });

  let closed = false;
  return {
    handler: lti.app,
    frameAncestors: [INSTRUCTURE_FRAME_ANCESTOR],
    launches,
    reconcile,
    async syncIntegration(integrationId) {
      // Simplest correct thing: a full reconcile (also removes the entry of a changed client id).
      void integrationId;
      await reconcile();
    },
    async close() {
      if (closed) return;
      closed = true;
      await lti.close({ silent: true });
    },
  };
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
