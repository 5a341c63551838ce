import { sql, type Kysely } from 'kysely';

/**
 * An index in the course list's order (canvas ids compared as numbers: by length, then text), so a
 * page of the list reads its rows from the index instead of sorting every course of the integration
 * on each request: on Postgres that sort was the largest part of the database's work per request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('courses_list_order')
    .on('courses')
    .expression(sql`integration_id, length(canvas_id), canvas_id`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('courses_list_order').execute();
}
