import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/config.js';
import { createContainer, type Container, type ContainerOverrides } from '../../src/container.js';
import { createLogger } from '../../src/logger/logger.js';
import type { HostResolver } from '../../src/net/guarded-fetch.js';
import { generateSecretKey } from '../../src/vault/vault.js';
import { testDatabases, type TestDatabase } from './databases.js';

/** Collects log lines in memory so tests can search them (e.g. for a canary secret). */
export function captureLog(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/**
 * Name resolution for test containers: `localhost` only, every other name "does not exist", so no
 * test ever asks a real DNS server (tests reach loopback only). Tests pass `overrides.resolve` to
 * say "this name resolves to …".
 */
export const offlineResolver: HostResolver = async (hostname) => {
  if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (test containers resolve no names)`), { code: 'ENOTFOUND' });
};

/**
 * A real container on a fresh database (SQLite temp file by default, or `tdb`), with a captured
 * log. `env` adds configuration variables. Call `close()` in afterAll.
 */
export async function createTestContainer(
  opts: { env?: Record<string, string>; tdb?: TestDatabase; overrides?: ContainerOverrides } = {},
): Promise<Container & { log: ReturnType<typeof captureLog>; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-app-'));
  const tdb = opts.tdb ?? testDatabases()[0];
  const store = await tdb.open();
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    SECRET_KEY: generateSecretKey(),
    ...(store.config.kind === 'postgres' ? { DATABASE_URL: store.config.url } : { DATABASE_URL: `sqlite:${store.config.file}` }),
    ...opts.env,
  });
  const log = captureLog();
  const container = await createContainer(config, { logger: createLogger('info', log.stream), store, resolve: offlineResolver, ...opts.overrides });
  const close = container.close;
  return Object.assign(container, {
    log,
    dataDir,
    close: async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
