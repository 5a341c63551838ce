import type { Kysely } from 'kysely';

/** The initial schema (types in ../schema.ts). Portable SQL: text ids and timestamps, integer booleans. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('integrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('canvas_url', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret_enc', 'text')
    .addColumn('account_id', 'text', (c) => c.notNull().defaultTo('self'))
    .addColumn('course_id_type', 'text', (c) => c.notNull())
    .addColumn('user_id_type', 'text', (c) => c.notNull())
    .addColumn('student_roles', 'text', (c) => c.notNull())
    .addColumn('lti', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('missing_scopes', 'text', (c) => c.notNull())
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('token_owner_id', 'text')
    .addColumn('token_owner_name', 'text')
    .addColumn('verified_at', 'text')
    .addColumn('checked_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('integration_tokens')
    .addColumn('integration_id', 'text', (c) => c.primaryKey().references('integrations.id').onDelete('cascade'))
    .addColumn('access_token_enc', 'text', (c) => c.notNull())
    .addColumn('refresh_token_enc', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('owner_canvas_id', 'text', (c) => c.notNull())
    .addColumn('owner_name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oauth_states')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('browser_hash', 'text', (c) => c.notNull())
    .addColumn('pkce_verifier_enc', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();

  await db.schema
    .createTable('staff_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'text')
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('last4', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('sid', 'text', (c) => c.primaryKey())
    .addColumn('sess', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('audit_events_integration')
    .on('audit_events')
    .columns(['integration_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total', 'integer')
    .addColumn('eta_seconds', 'integer')
    .addColumn('checkpoint', 'text')
    .addColumn('summary', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_integration').on('jobs').columns(['integration_id', 'created_at']).execute();
  await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'created_at']).execute();

  await db.schema
    .createTable('courses')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('canvas_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('course_code', 'text')
    .addColumn('sis_course_id', 'text')
    .addColumn('canvas_integration_id', 'text')
    .addColumn('external_id', 'text')
    .addColumn('workflow_state', 'text', (c) => c.notNull())
    .addColumn('published', 'integer', (c) => c.notNull())
    .addColumn('syncable', 'integer', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('refreshed_at', 'text', (c) => c.notNull())
    .addColumn('refresh_job_id', 'text')
    .addColumn('last_synced_at', 'text')
    .addPrimaryKeyConstraint('courses_pk', ['integration_id', 'canvas_id'])
    .execute();
  await db.schema.createIndex('courses_syncable').on('courses').columns(['integration_id', 'syncable']).execute();

  await db.schema
    .createTable('sections')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('canvas_id', 'text', (c) => c.notNull())
    .addColumn('course_canvas_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sis_section_id', 'text')
    .addColumn('canvas_integration_id', 'text')
    .addColumn('external_id', 'text')
    .addColumn('syncable', 'integer', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('refreshed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('sections_pk', ['integration_id', 'canvas_id'])
    .execute();
  await db.schema
    .createIndex('sections_course')
    .on('sections')
    .columns(['integration_id', 'course_canvas_id'])
    .execute();

  await db.schema
    .createTable('roster_entries')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('course_canvas_id', 'text', (c) => c.notNull())
    .addColumn('canvas_user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('enrollment_states', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('section_ids', 'text', (c) => c.notNull())
    .addColumn('exam_taker', 'integer', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('synced_at', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addPrimaryKeyConstraint('roster_entries_pk', ['integration_id', 'course_canvas_id', 'canvas_user_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'roster_entries',
    'sections',
    'courses',
    'jobs',
    'audit_events',
    'sessions',
    'api_tokens',
    'staff_users',
    'oauth_states',
    'integration_tokens',
    'integrations',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
