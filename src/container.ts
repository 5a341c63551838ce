import type { RequestHandler } from 'express';
import type { Config } from './config/config.js';
import { createLogger, type Logger } from './logger/logger.js';
import { createAuditLog, type AuditLog } from './audit/audit-log.js';
import { createSessionStore, type ClosableSessionStore } from './http/session-store.js';
import { createApiTokens, type ApiTokens } from './staff/api-tokens.js';
import { createStaffUsers, type StaffUsers } from './staff/staff-users.js';
import { migrateToLatest, openStore, type Store } from './store/database.js';
import { createVault, parseSecretKey, resolveSecretKey, type Vault } from './vault/vault.js';

/**
 * What the LTI feature plugs in (src/lti/ sets `container.lti`): the ltijs app, mounted at `/lti`
 * before any body parser, and the origins allowed to frame the tool (CSP frame-ancestors).
 */
export interface LtiMount {
  handler: RequestHandler;
  /** e.g. ["https://*.instructure.com"]; added to frame-ancestors next to 'self'. */
  frameAncestors?: string[];
}

/**
 * The composition root's product: every long-lived dependency, built once per process.
 * Feature helpers add their services as fields here (and build them in {@link createContainer}).
 */
export interface Container {
  config: Config;
  logger: Logger;
  store: Store;
  clock: () => Date;
  fetch: typeof globalThis.fetch;
  vault: Vault;
  staff: StaffUsers;
  apiTokens: ApiTokens;
  audit: AuditLog;
  sessionStore: ClosableSessionStore;
  /** Set by the LTI feature; createApp mounts it. */
  lti?: LtiMount;
  /** Registers a closer (job runner, timers, ltijs…); closers run in reverse order, before the store closes. */
  onClose(fn: () => void | Promise<void>): void;
  /** Runs every closer, then closes the session store and the database. Idempotent. */
  close(): Promise<void>;
}

/** What tests (and the demo) may replace. */
export interface ContainerOverrides {
  logger?: Logger;
  clock?: () => Date;
  fetch?: typeof globalThis.fetch;
  /** An already opened store (tests); it is migrated, and closed by `close()`. */
  store?: Store;
}

/**
 * Builds the container: opens the store and runs migrations, resolves SECRET_KEY (generating one
 * into the data folder in the embedded default), and applies BOOTSTRAP_API_TOKEN.
 * @throws Error when the database cannot be reached or migrated, or SECRET_KEY is malformed.
 */
export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? (() => new Date());
  const fetchImpl = overrides.fetch ?? globalThis.fetch.bind(globalThis);
  const store = overrides.store ?? openStore(config.database);
  const closers: Array<() => void | Promise<void>> = [];
  let sessionStore: ClosableSessionStore | undefined;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.error({ err }, 'a closer failed during shutdown');
        }
      }
      await sessionStore?.close();
      await store.close();
    })();
    return closed;
  };

  try {
    await migrateToLatest(store.db);
    const vault = createVault(parseSecretKey(resolveSecretKey(config)));
    const db = store.db;
    const apiTokens = createApiTokens({ db, clock });
    if (config.bootstrapApiToken) {
      const info = await apiTokens.ensureBootstrap(config.bootstrapApiToken);
      logger.info({ tokenId: info.id }, 'bootstrap API token is active');
    }
    sessionStore = createSessionStore(store, clock);
    return {
      config,
      logger,
      store,
      clock,
      fetch: fetchImpl,
      vault,
      staff: createStaffUsers({ db, clock }),
      apiTokens,
      audit: createAuditLog({ db, clock }),
      sessionStore,
      onClose: (fn) => void closers.push(fn),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
