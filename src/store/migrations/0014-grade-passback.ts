import { sql, type Kysely } from 'kysely';

/**
 * Grade passback: what each integration uses (`features`, JSON text; existing integrations keep
 * course refresh and roster sync), and one row per posted exam (course + exam key) holding the
 * Canvas assignment it maps to and every student's outcome of the last post.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('features', 'text', (c) => c.notNull().defaultTo(sql`'["course_refresh","roster_sync"]'`))
    .execute();
  await db.schema
    .createTable('grade_posts')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('course_canvas_id', 'text', (c) => c.notNull())
    .addColumn('exam_key', 'text', (c) => c.notNull())
    .addColumn('exam_title', 'text', (c) => c.notNull())
    .addColumn('points_possible', 'double precision', (c) => c.notNull())
    .addColumn('assignment_id', 'text')
    .addColumn('assignment_url', 'text')
    .addColumn('job_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('outcomes', 'text', (c) => c.notNull())
    .addColumn('posted_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('grade_posts_pk', ['integration_id', 'course_canvas_id', 'exam_key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('grade_posts').execute();
  await db.schema.alterTable('integrations').dropColumn('features').execute();
}
