import { sql, type Kysely } from 'kysely';

/**
 * Course facts the exam platform files a course by (term, the course's own dates, the sub-account
 * as department), the integration's course admin roles, and per roster entry whether the person is
 * a course admin and until when Canvas shows a student as pending because the course or section
 * has not started yet. All nullable or defaulted, so existing rows stay valid.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['term_name', 'term_start_at', 'term_end_at', 'start_at', 'end_at', 'department']) {
    await db.schema.alterTable('courses').addColumn(column, 'text').execute();
  }
  await db.schema
    .alterTable('integrations')
    .addColumn('course_admin_roles', 'text', (c) => c.notNull().defaultTo(sql`'["TeacherEnrollment"]'`))
    .execute();
  await db.schema.alterTable('roster_entries').addColumn('course_admin', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('roster_entries').addColumn('pending_until', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('roster_entries').dropColumn('pending_until').execute();
  await db.schema.alterTable('roster_entries').dropColumn('course_admin').execute();
  await db.schema.alterTable('integrations').dropColumn('course_admin_roles').execute();
  for (const column of ['department', 'end_at', 'start_at', 'term_end_at', 'term_start_at', 'term_name']) {
    await db.schema.alterTable('courses').dropColumn(column).execute();
  }
}
