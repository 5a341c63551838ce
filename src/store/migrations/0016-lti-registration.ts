import type { Kysely } from 'kysely';

/**
 * LTI Dynamic Registration.
 * - `lti_registration_windows`: an integration accepts a registration by URL only while someone with
 *   access to it opened a window (one row per integration, until `expires_at`).
 * - `lti_registration_tokens`: every registration token that reached the tool, by its `uuid` (or the
 *   token's hash), so a reloaded or replayed registration page never registers a second key; a
 *   successful one keeps the client id Canvas created (a first launch may then add its deployment).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lti_registration_windows')
    .addColumn('integration_id', 'text', (c) => c.primaryKey().references('integrations.id').onDelete('cascade'))
    .addColumn('opened_by', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('lti_registration_tokens')
    .addColumn('token_key', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('deployment_adopted_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('lti_registration_tokens_integration').on('lti_registration_tokens').column('integration_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lti_registration_tokens').execute();
  await db.schema.dropTable('lti_registration_windows').execute();
}
