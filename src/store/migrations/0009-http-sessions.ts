import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * The Postgres session table (connect-pg-simple's layout), created here under the migration lock.
 * Left to connect-pg-simple, the first session of each instance checks for the table and then
 * creates it: two instances serving their first session at the same moment race, and the loser
 * keeps the failed creation cached, so every session on that instance fails until a restart.
 * SQLite keeps sessions in the `sessions` table of the initial migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`CREATE TABLE IF NOT EXISTS http_sessions (
    sid varchar NOT NULL COLLATE "default" PRIMARY KEY,
    sess json NOT NULL,
    expire timestamp(6) NOT NULL
  )`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS http_sessions_expire ON http_sessions (expire)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await sql`DROP TABLE IF EXISTS http_sessions`.execute(db);
}

function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
