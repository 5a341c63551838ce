import type { Kysely } from 'kysely';

/**
 * `lti_storage_logins`: the server half of an LTI login whose state and nonce the browser keeps in
 * Canvas's platform storage instead of a cookie. One row per login, keyed by the SHA-256 of the
 * state; the nonce is kept hashed too. `used_at` makes the launch single use, `connected_at` the
 * one hop from the validated launch to the tool's page.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lti_storage_logins')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('nonce_hash', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('connected_at', 'text')
    .execute();
  await db.schema.createIndex('lti_storage_logins_expires_at').on('lti_storage_logins').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lti_storage_logins').execute();
}
