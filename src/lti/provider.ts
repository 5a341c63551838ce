import { hkdfSync } from 'node:crypto';
import type { RequestHandler } from 'express';
import ltijs from 'ltijs';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger/logger.js';
import type { Store } from '../store/database.js';
import type { HostResolver } from '../net/guarded-fetch.js';
import { guardLtijsHttp } from './guarded-http.js';
import { KyselyLtiDatabase } from './kysely-lti-database.js';
import { INSTRUCTURE_FRAME_ANCESTOR } from './frame-policy.js';
import { createLaunchHandler } from './launch-handler.js';
import { createLaunchStore, type LaunchStore } from './launch-store.js';
import { createLoginCheck } from './login-check.js';
import { createLtiPages, type LtiPages } from './lti-pages.js';
import type { LtijsProvider } from './ltijs-types.js';
import { createPlatformRegistry } from './platform-registry.js';
import { createPlatformStorage, type PlatformStorage } from './platform-storage.js';
import { createPlatformStorageRepository } from './platform-storage-repository.js';
import { canvasToolConfiguration } from './tool-config.js';

export type { LaunchRefusal } from './lti-pages.js';

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
  /** Adds the first deployment of a key Dynamic Registration created, at its first signed launch. */
  adoptFirstDeployment?: (integrationId: string, clientId: string, deploymentId: string) => Promise<boolean>;
  noteNamesAndRoles?: (integrationId: string, clientId: string, granted: boolean) => Promise<void>;
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
  const base = secrets.at(-1);
  if (base === undefined) throw new Error('the vault gives no session secret to derive the ltijs key from');
  return Buffer.from(hkdfSync('sha256', base, 'canvas-companion', 'ltijs-encryption-key', 32)).toString('base64url');
}

/**
 * Sets up ltijs 5.9 once per process (a second call throws, like ltijs itself), on the service's
 * database, with this service's launch handling. Register `close()` with the container's onClose.
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
  const lti = (ltijs as unknown as { Provider: LtijsProvider }).Provider;
  // ltijs's records live in the service's own store, in tables the migrations created. Checked here so
  // that a missing table or an unreachable database fails the start with the real error.
  const plugin = new KyselyLtiDatabase({ db: deps.store.db, dialect: deps.store.dialect, logger });
  await plugin.checkTables();

  const pages = createLtiPages(logger);
  const platforms = createPlatformRegistry({ lti, plugin, launches, db: deps.store.db, clock });
  const storage = createPlatformStorage({
    publicOrigin: new URL(config.publicUrl).origin,
    storage: createPlatformStorageRepository({ db: deps.store.db, clock }),
    launches,
    lti,
    pages,
    logger,
  });
  const checkLogin = createLoginCheck({ secureCookies: config.secureCookies, logger, pages, platforms, storage });
  setUpLtijs(lti, ltijsKey(deps.vault), plugin, config, {
    '/config.json': configJson(launches, config.publicUrl, pages),
    '/login': checkLogin,
    storage,
  });
  const launch = createLaunchHandler({ lti, launches, platforms, pages, logger, clock, adoptFirstDeployment: deps.adoptFirstDeployment, noteNamesAndRoles: deps.noteNamesAndRoles });
  lti.onConnect(async (token, req, res) => {
    try {
      await launch.handleLaunch(token, req, res);
    } catch (err) {
      pages.failure(res, err);
    }
  });
  lti.onInvalidToken(async (req, res) => {
    try {
      await launch.invalidToken(req, res);
    } catch (err) {
      pages.failure(res, err);
    }
  });
  lti.onSessionTimeout(async (_req, res) => pages.refuse(res, 401, 'session_expired'));
  lti.onUnregisteredPlatform(async (req, res) => {
    const p = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    pages.refuse(res, 400, 'unknown_platform', { issuer: p.iss, clientId: p.client_id });
  });
  lti.onInactivePlatform(async (_req, res) => pages.refuse(res, 403, 'unknown_platform'));

  // What ltijs's deploy({ serverless: true }) does, minus its two process.exit() paths: it would call
  // process.exit() (exit code 0) when the database setup fails, and add a SIGINT handler that exits
  // without our graceful shutdown (src/main.ts owns that). Its only other step is the plugin's setup.
  await plugin.setup();

  let closed = false;
  return {
    handler: lti.app,
    frameAncestors: [INSTRUCTURE_FRAME_ANCESTOR],
    launches,
    reconcile: () => platforms.reconcile(),
    async syncIntegration(integrationId) {
      // Simplest correct thing: a full reconcile (also removes the entry of a changed client id).
      void integrationId;
      await platforms.reconcile();
    },
    async close() {
      if (closed) return;
      closed = true;
      await lti.close({ silent: true });
    },
  };
}

/** ltijs's setup: its routes under `/lti`, cookies fit for Canvas's iframe, and our handlers before its own. */
function setUpLtijs(
  lti: LtijsProvider,
  key: string,
  plugin: KyselyLtiDatabase,
  config: LtiDeps['config'],
  before: { '/config.json': RequestHandler; '/login': RequestHandler; storage: PlatformStorage },
): void {
  lti.setup(
    key,
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
      serverAddon: (app: { get: Function; post: Function; all: Function; use: Function }) => {
        app.get('/config.json', before['/config.json']);
        app.all('/login', before['/login']);
        // The launch (appUrl '/'): platform-storage logins are checked here, before ltijs's state cookie.
        app.post('/', before.storage.launch);
        app.get('/', before.storage.connect);
      },
    },
  );
}

/** GET /lti/config.json?integration=:id — the developer key JSON Canvas fetches by URL. */
function configJson(launches: LaunchStore, publicUrl: string, pages: LtiPages): RequestHandler {
  return async (req, res) => {
    try {
      const id = typeof req.query.integration === 'string' ? req.query.integration : '';
      const integration = id ? await launches.getIntegration(id) : undefined;
      if (!integration) {
        res.status(404).json({ error: { code: 'not_found', message: 'No integration with this id.', help: 'Copy the URL from the LTI page of your integration.' } });
        return;
      }
      res.json(canvasToolConfiguration(publicUrl));
    } catch (err) {
      pages.failure(res, err);
    }
  };
}
