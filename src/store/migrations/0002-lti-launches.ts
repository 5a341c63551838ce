import type { Kysely } from 'kysely';

/**
 * LTI launch hand-over and the NRPS cross-check snapshot (src/lti/).
 * `lti_handoffs`: single-use tokens that carry a validated launch from the ltijs sub-app (no
 * session there) to the main app, which sets the session. Only the SHA-256 of a token is stored.
 * `lti_nrps_snapshots`: the latest Names and Roles member list per course, shown next to the roster.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lti_handoffs')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();

  await db.schema
    .createTable('lti_nrps_snapshots')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('course_canvas_id', 'text', (c) => c.notNull())
    .addColumn('members', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('fetched_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lti_nrps_snapshots_pk', ['integration_id', 'course_canvas_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lti_nrps_snapshots').execute();
  await db.schema.dropTable('lti_handoffs').execute();
}
