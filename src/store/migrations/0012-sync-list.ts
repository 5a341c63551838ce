import { sql, type Kysely } from 'kysely';

/**
 * The sync list (the courses the exam platform keeps in sync, per integration), the uploaded
 * import files waiting for "Apply" (so the page's preview → apply is a redirect, never a second
 * upload), and the integration's re-sync schedule with the time the next run is due.
 * `next_sync_at` is indexed: every instance's scheduler tick asks "which schedules are due?".
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sync_list')
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('canvas_course_id', 'text', (c) => c.notNull())
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addColumn('added_by', 'text', (c) => c.notNull())
    .addColumn('last_synced_at', 'text')
    .addPrimaryKeyConstraint('sync_list_pk', ['integration_id', 'canvas_course_id'])
    .execute();
  await db.schema
    .createIndex('sync_list_order')
    .on('sync_list')
    .expression(sql`integration_id, length(canvas_course_id), canvas_course_id`)
    .execute();

  await db.schema
    .createTable('sync_list_imports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('content_base64', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text')
    .addColumn('result', 'text')
    .execute();
  await db.schema.createIndex('sync_list_imports_integration').on('sync_list_imports').columns(['integration_id', 'created_at']).execute();

  await db.schema.alterTable('integrations').addColumn('sync_schedule', 'text').execute();
  await db.schema.alterTable('integrations').addColumn('next_sync_at', 'text').execute();
  await db.schema.createIndex('integrations_next_sync').on('integrations').column('next_sync_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('integrations_next_sync').execute();
  await db.schema.alterTable('integrations').dropColumn('next_sync_at').execute();
  await db.schema.alterTable('integrations').dropColumn('sync_schedule').execute();
  await db.schema.dropTable('sync_list_imports').execute();
  await db.schema.dropTable('sync_list').execute();
}
