import type { Kysely } from 'kysely';

/**
 * `sections.refresh_job_id`: the course refresh that last saw the section. A refresh that completes
 * removes the sections it did not see (deleted in Canvas, or of a course that cannot be synced), the
 * same rule as for courses; this lets the bulk path stream sections instead of grouping them per course.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sections').addColumn('refresh_job_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sections').dropColumn('refresh_job_id').execute();
}
