import type { Kysely } from 'kysely';

/**
 * `login_throttle`: sign-in attempt counters shared by every instance on one database, one row per
 * key (the SHA-256 of `account:<email>` or `address:<client address>`, so no email is stored), counting
 * within a fixed window that ends at `reset_at`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_throttle')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('reset_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_throttle_reset_at').on('login_throttle').column('reset_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_throttle').execute();
}
