import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger/logger.js';
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

/** Distinct SQL texts whose compiled statements are kept (the product runs a few hundred shapes). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The SQLite database as Kysely sees it, with compiled statements kept by SQL text: Kysely calls
 * `prepare` for every query it runs, and better-sqlite3 compiles the SQL again each time, a fixed
 * cost of every query (parameters are bound per run, so one statement serves every call of a
 * shape). A cached statement still iterating (`busy`) is not handed out twice: a fresh one is made.
 * The least recently used statements go first.
 */
export function withStatementCache(sqlite: SqliteDatabase.Database, size = STATEMENT_CACHE_SIZE): Pick<SqliteDatabase.Database, 'prepare' | 'close'> {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(source: string) {
      const kept = cache.get(source);
      if (kept && !kept.busy) {
        cache.delete(source);
        cache.set(source, kept);
        return kept;
      }
      const stmt = sqlite.prepare(source);
      cache.set(source, stmt);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return stmt;
    },
    close() {
      cache.clear();
      return sqlite.close();
    },
  } as Pick<SqliteDatabase.Database, 'prepare' | 'close'>;
}

/**
 * Opens the database named by the config. SQLite runs in WAL mode with a busy timeout so a second
 * process (CLI next to the server) can write without "database is locked".
 *
 * On Postgres a connection can die at any moment (failover, restart, a pooler or an admin ending
 * backends): `pg` then emits 'error' on the client, and on the pool for an idle client. An 'error'
 * event without a listener throws and ends the process, so both get one here: the broken client is
 * dropped (pg-pool discards a client that is no longer queryable when it is released) and the next
 * query opens a new connection. A query running on the dying connection still fails with its error.
 * @throws when the SQLite folder cannot be created or Postgres refuses the first connection later.
 */
export function openStore(database: Config['database'], opts: { logger?: Logger } = {}): Store {
  if (database.kind === 'sqlite') {
    if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
    const sqlite = new SqliteDatabase(database.file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  // connectionTimeoutMillis: without it a query waits for the OS's TCP timeout (minutes) when the
  // database host is unreachable; keepAlive: a connection through a dead peer is noticed.
  const pool = new pg.Pool({ connectionString: database.url, max: 10, connectionTimeoutMillis: 5000, keepAlive: true });
  attachConnectionErrorHandlers(pool, opts.logger);
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

/**
 * Listeners that keep a lost Postgres connection from ending the process: on the pool (idle
 * clients) and on every client the pool opens (checked-out clients: a transaction or a row lock
 * held across awaits). Used for every pool this service opens.
 */
export function attachConnectionErrorHandlers(pool: pg.Pool, logger?: Logger): void {
  pool.on('error', (err) => {
    logger?.warn({ err: describeDbError(err) }, 'an idle database connection was lost; it is dropped and a new one opened when needed');
  });
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      logger?.warn({ err: describeDbError(err) }, 'a database connection in use was lost; the query on it fails and the connection is dropped');
    });
  });
}

/** The loggable part of a database error (code and message; never the query's parameters). */
export function describeDbError(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: typeof e?.message === 'string' ? e.message : String(err) };
}

const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const TRANSIENT_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /connection .*(closed|ended)/i, /terminating connection/i];

/**
 * True when `err` (or an error in its `cause` chain) means the database connection was lost or
 * could not be opened (Postgres 57P01–57P03, class 08, socket errors, pg's "Connection terminated"):
 * the same work succeeds on a new connection once the database answers again.
 */
export function isTransientDbError(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || e.code.startsWith('08'))) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((m) => m.test(e!.message as string))) return true;
  }
  return false;
}

/**
 * Retries `fn` while it fails with a {@link isTransientDbError} (the database restarting or failing
 * over), with growing pauses, for at most `maxMs`. For idempotent writes only (a guarded UPDATE).
 * @throws the last error when it is not transient, or when `maxMs` has passed.
 */
export async function retryTransientDb<T>(fn: () => Promise<T>, opts: { maxMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const end = Date.now() + (opts.maxMs ?? 30_000);
  for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDbError(err) || Date.now() + pause > end || opts.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** True when the database answers and no migration is pending (the CLI's `db migrate` check). */
export async function isReady(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    const migrations = await new Migrator({ db, provider: migrationProvider }).getMigrations();
    return migrations.every((m) => m.executedAt !== undefined);
  } catch {
    return false;
  }
}
