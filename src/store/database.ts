import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** An open store: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The pg pool when on Postgres (for connect-pg-simple and advisory locks), else undefined. */
  pgPool?: pg.Pool;
  close(): Promise<void>;
}

/**
 * Opens the database named by the config. SQLite runs in WAL mode with a busy timeout so a second
 * process (CLI next to the server) can write without "database is locked".
 * @throws when the SQLite folder cannot be created or Postgres refuses the first connection later.
 */
export function openStore(database: Config['database']): Store {
  if (database.kind === 'sqlite') {
    if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
    const sqlite = new SqliteDatabase(database.file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    dialect: 'postgres',
    pgPool: pool,
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy(); // ends the pool too
    },
  };
}

/**
 * Applies every pending migration. Safe to call from several instances at once on Postgres
 * (Kysely takes a lock table), which is what happens when instances start together.
 * @throws Error naming the failed migration.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
    });
  }
}

/** True when the database answers and no migration is pending (for `/readyz`). */
export async function isReady(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    const migrations = await new Migrator({ db, provider: migrationProvider }).getMigrations();
    return migrations.every((m) => m.executedAt !== undefined);
  } catch {
    return false;
  }
}
