import { randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger/logger.js';
import { platformEndpoints } from './canvas-platforms.js';
import { allowFrameAncestor, canvasFrameAncestor } from './frame-policy.js';
import type { LaunchStore, LtiIntegration } from './launch-store.js';
import type { LtiPages } from './lti-pages.js';
import type { LtijsProvider } from './ltijs-types.js';
import { storageHash, type PlatformStorageRepository } from './platform-storage-repository.js';

/** The frame Canvas names in `lti_storage_target` today (an older Canvas sent `_parent`). */
export const FORWARDING_FRAME = 'post_message_forwarding';

/** Form fields the launch page adds when it posts the id_token back with what it read from storage. */
export const STORAGE_FIELDS = { state: 'cc_storage_state', nonce: 'cc_storage_nonce', error: 'cc_storage_error' } as const;

/** Query parameter that sends a login back to the cookie path (the page found no storage frame). */
export const STORAGE_OFF_PARAM = 'cc_storage';

/**
 * What the browser script (public/lti-storage.js) needs: which frame to address, the origins it may
 * send to and accept answers from, and the keys to write or read.
 */
export interface StoragePageConfig {
  mode: 'login' | 'launch';
  /** `window.parent.frames[frame]`: Canvas's storage frame. */
  frame: string;
  /** The storage frame's origin (Canvas's OIDC authorization origin): messages go only there. */
  frameOrigin: string | null;
  /** Canvas's own origin: answers to the `window.parent` fallback must come from it. */
  parentOrigin: string | null;
  state: string;
  nonce: string;
  /** Login: the authorization request to go on to. */
  next?: string;
  /** Login: the same login on the cookie path, for a Canvas that does not answer. */
  fallback?: string;
}

export interface PlatformStorageDeps {
  /** The tool's own origin (from PUBLIC_URL): the read-back post and the ltik hop must come from it. */
  publicOrigin: string;
  storage: PlatformStorageRepository;
  launches: LaunchStore;
  lti: Pick<LtijsProvider, 'Database'>;
  pages: LtiPages;
  logger: Logger;
}

/**
 * LTI Platform Storage (the LTI client-side postMessage API) instead of ltijs's state cookie, for a
 * launch inside Canvas's iframe where the browser blocks third-party cookies.
 *
 * Login: we create the state and nonce ourselves, bind them server-side (hashes, expiry, single
 * use) and answer with a page that stores both in Canvas's storage frame before it goes on to the
 * authorization endpoint. Launch: the id_token POST gets a page that reads them back from the frame
 * and posts again; only when the state is ours, unused and unexpired, and both values read back
 * match, is the launch handed to ltijs, with the issuer where ltijs reads its state cookie. ltijs
 * then checks signature, audience, age and nonce reuse as on the cookie path. The one hop from the
 * validated launch to the tool's page (ltijs's `ltik` redirect, which wants ltijs's session
 * cookie) is let through once per login.
 *
 * What stands in for the cookie's binding to the browser: the values are checked by our page's
 * script in the browser that holds Canvas's storage, and the post carrying what it read must be
 * same-origin (`Origin` / `Sec-Fetch-Site`), so another site cannot submit made-up values into a
 * victim's browser (login CSRF); the ltik hop must be a same-origin navigation too.
 */
export function createPlatformStorage(deps: PlatformStorageDeps) {
  const { storage, pages, logger } = deps;

  const frameOrigins = (integration: Pick<LtiIntegration, 'canvasUrl' | 'lti'>) => {
    const ep = platformEndpoints(integration.canvasUrl, integration.lti);
    return { frameOrigin: originOf(ep.authUrl), parentOrigin: originOf(integration.canvasUrl), authUrl: ep.authUrl };
  };

  return {
    /** True when this login should keep its state in platform storage (Canvas offered it, the page did not opt out). */
    wanted(params: Record<string, string>): boolean {
      const target = params.lti_storage_target;
      return typeof target === 'string' && target !== '' && params[STORAGE_OFF_PARAM] !== 'off';
    },

    /**
     * Answers the OIDC login initiation on the storage path: records the state and nonce, renders
     * the page that stores them in Canvas's frame and then opens the authorization request.
     * @throws when the store cannot be written (the caller renders the failure page).
     */
    async login(req: Request, res: Response, params: Record<string, string>, integration: LtiIntegration): Promise<void> {
      void storage.prune().catch(() => undefined);
      const state = randomBytes(25).toString('hex');
      const nonce = randomBytes(24).toString('base64url');
      await storage.begin({ state, nonce, issuer: params.iss ?? '', clientId: params.client_id ?? '', integrationId: integration.id });
      const { frameOrigin, parentOrigin, authUrl } = frameOrigins(integration);
      const query = new URLSearchParams({
        response_type: 'id_token',
        response_mode: 'form_post',
        id_token_signed_response_alg: 'RS256',
        scope: 'openid',
        client_id: params.client_id ?? '',
        redirect_uri: params.target_link_uri ?? '',
        login_hint: params.login_hint ?? '',
        nonce,
        prompt: 'none',
        state,
      });
      if (params.lti_message_hint) query.set('lti_message_hint', params.lti_message_hint);
      if (params.lti_deployment_id) query.set('lti_deployment_id', params.lti_deployment_id);
      const cookiePath = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'cc_probe'));
      cookiePath[STORAGE_OFF_PARAM] = 'off';
      const config: StoragePageConfig = {
        mode: 'login',
        frame: frameName(params.lti_storage_target),
        frameOrigin,
        parentOrigin,
        state,
        nonce,
        next: `${authUrl}${authUrl.includes('?') ? '&' : '?'}${query.toString()}`,
        fallback: `${req.baseUrl}${req.path}?${new URLSearchParams(cookiePath).toString()}`,
      };
      allowFrameAncestor(res, canvasFrameAncestor(integration.canvasUrl));
      res.setHeader('Cache-Control', 'no-store');
      pages.render(res, 200, 'storage', { title: 'Signing in…', code: 'storage_login', config: JSON.stringify(config), scripts: ['lti-storage.js'] });
    },

    /**
     * Runs before ltijs on the launch POST. A state issued on the cookie path passes straight on.
     * A storage-path state gets the read-back page first, then the checks; only a launch that
     * passes them reaches ltijs.
     */
    launch: (async (req, res, next) => {
      try {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const idToken = typeof body.id_token === 'string' ? body.id_token : '';
        const state = typeof body.state === 'string' ? body.state : '';
        if (!idToken || !state) return next();
        const login = await storage.peek(state);
        if (!login) return next(); // issued on the cookie path: ltijs checks its cookie
        const integration = await deps.launches.getIntegration(login.integrationId);
        const frameFor = integration ? canvasFrameAncestor(integration.canvasUrl) : null;
        const claims = decodeUnverified(idToken);
        const nonce = typeof claims?.nonce === 'string' ? claims.nonce : '';
        const answered = [STORAGE_FIELDS.state, STORAGE_FIELDS.nonce, STORAGE_FIELDS.error].some((f) => typeof body[f] === 'string');
        if (!answered) {
          if (!integration?.lti) return pages.refuse(res, 400, 'unknown_platform', { issuer: login.issuer, clientId: login.clientId });
          const { frameOrigin, parentOrigin } = frameOrigins({ canvasUrl: integration.canvasUrl, lti: integration.lti });
          const config: StoragePageConfig = { mode: 'launch', frame: frameName(body.lti_storage_target), frameOrigin, parentOrigin, state, nonce };
          allowFrameAncestor(res, frameFor);
          res.setHeader('Cache-Control', 'no-store');
          res.setHeader('Referrer-Policy', 'same-origin');
          return pages.render(res, 200, 'storage', {
            title: 'Signing in…',
            code: 'storage_launch',
            config: JSON.stringify(config),
            scripts: ['lti-storage.js'],
            form: { action: `${req.baseUrl}${req.path}`, fields: { id_token: idToken, state } },
          });
        }
        // From here on the state is spent, whatever the outcome: one try per login.
        const used = await storage.use(state);
        const sameOrigin = fromOwnPage(req, deps.publicOrigin);
        if (!used.ok) return pages.refuse(res, 401, used.reason === 'expired' ? 'expired' : 'replayed', { issuer: login.issuer }, frameFor);
        if (typeof body[STORAGE_FIELDS.error] === 'string') {
          logger.info({ integrationId: login.integrationId, reason: String(body[STORAGE_FIELDS.error]).slice(0, 40) }, 'LTI launch: platform storage did not answer');
          return pages.refuse(res, 401, 'storage_unavailable', { issuer: login.issuer }, frameFor);
        }
        if (!sameOrigin || body[STORAGE_FIELDS.state] !== state) return pages.refuse(res, 401, 'state_mismatch', { issuer: login.issuer }, frameFor);
        if (!nonce || body[STORAGE_FIELDS.nonce] !== nonce || storageHash(nonce) !== used.login.nonceHash) {
          const seen = nonce ? await deps.lti.Database.Get(false, 'nonce', { nonce }).catch(() => false) : false;
          return pages.refuse(res, 401, seen ? 'nonce_reused' : 'nonce_mismatch', { issuer: login.issuer }, frameFor);
        }
        for (const f of Object.values(STORAGE_FIELDS)) delete body[f];
        // ltijs's state check reads the issuer from its signed state cookie; the checks above stand in for it.
        signedCookies(req)[`state${state}`] = used.login.issuer;
        return next();
      } catch (err) {
        pages.failure(res, err);
      }
    }) as RequestHandler,

    /**
     * Runs before ltijs on the `ltik` hop after a validated launch: ltijs binds that hop to its
     * session cookie, which a cookie-less browser does not have. A storage-path launch may take it
     * once (the ltik is signed by ltijs and names the state it came from); ltijs still verifies it.
     */
    connect: (async (req, res, next) => {
      try {
        const ltik = typeof req.query.ltik === 'string' ? req.query.ltik : '';
        if (!ltik) return next();
        const claims = decodeUnverified(ltik);
        const state = typeof claims?.s === 'string' ? claims.s : '';
        const platformCode = typeof claims?.platformCode === 'string' ? claims.platformCode : '';
        const user = claims?.user;
        if (!state || !platformCode || (typeof user !== 'string' && typeof user !== 'number')) return next();
        const cookies = signedCookies(req);
        if (cookies[platformCode]) return next();
        // Only the redirect of our own read-back post (same-origin) may take the hop; a link from elsewhere may not.
        if (req.get('sec-fetch-site') === 'same-origin' && (await storage.connect(state))) {
          cookies[platformCode] = String(user);
          // Tells the launch handler this launch came through platform storage (no cookies in this frame).
          res.locals.ltiStorageLaunch = true;
        }
        void storage.prune().catch(() => undefined);
        return next();
      } catch (err) {
        pages.failure(res, err);
      }
    }) as RequestHandler,
  };
}

export type PlatformStorage = ReturnType<typeof createPlatformStorage>;

/**
 * Whether a POST was submitted by a page of this origin: `Sec-Fetch-Site` where the browser sends
 * it, else `Origin` (sent as `null` under a `no-referrer` policy, hence the storage pages' own
 * `same-origin` policy). A request with neither proves nothing and is refused.
 */
function fromOwnPage(req: Request, publicOrigin: string): boolean {
  const site = req.get('sec-fetch-site');
  if (site) return site === 'same-origin';
  return req.get('origin') === publicOrigin;
}

/** The frame to address: Canvas's forwarding frame (`_parent`, the older value, means the parent window). */
function frameName(target: unknown): string {
  return target === '_parent' ? '_parent' : FORWARDING_FRAME;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function signedCookies(req: Request): Record<string, string> {
  const r = req as Request & { signedCookies?: Record<string, string> };
  if (!r.signedCookies || typeof r.signedCookies !== 'object') r.signedCookies = {};
  return r.signedCookies;
}

/** The payload of a JWT without checking it (only to route; ltijs verifies). */
export function decodeUnverified(jwt: string): Record<string, unknown> | undefined {
  try {
    const payload = jwt.split('.')[1];
    if (payload === undefined) return undefined;
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
