import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Opens a fresh, migrated store (own SQLite file, or own Postgres database). */
  open(): Promise<Store & { config: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } }>;
}

/**
 * The backends every storage suite runs on: SQLite always, Postgres when TEST_DATABASE_URL is set
 * (CI sets it). Use as `describe.each(testDatabases())('… on %s', (tdb) => …)` with `tdb.name`.
 */
export function testDatabases(): [TestDatabase, ...TestDatabase[]] {
  const list: [TestDatabase, ...TestDatabase[]] = [{ name: 'sqlite', open: openSqlite }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) list.push({ name: 'postgres', open: () => openPostgres(url) });
  return list;
}

async function openSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'cc-test-'));
  return openMigrated({ kind: 'sqlite' as const, file: join(dir, 'test.sqlite') }, async () =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

/** Opens and migrates a store whose `close()` also runs `cleanup` (remove the file, drop the database). */
async function openMigrated<C extends { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string }>(
  config: C,
  cleanup: () => Promise<void>,
) {
  const store = openStore(config);
  await migrateToLatest(store.db);
  const close = store.close;
  return {
    ...store,
    config,
    close: async () => {
      await close();
      await cleanup();
    },
  };
}

/** Creates a throwaway database next to TEST_DATABASE_URL's, so suites never share state. */
export async function createPostgresDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cc_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function openPostgres(baseUrl: string) {
  const { url, drop } = await createPostgresDatabase(baseUrl);
  return openMigrated({ kind: 'postgres' as const, url }, drop);
}
