import type { Kysely } from 'kysely';

/**
 * `roster_entries.base_roles`: the base type Canvas gives each enrollment (`StudentEnrollment`,
 * `TeacherEnrollment`, …) beside the role name, so the course page can tell a custom student role
 * ("Exam Candidate", base StudentEnrollment) from a teacher or observer role when it advises
 * what to add to Student roles. Null for rows synced before this column existed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('roster_entries').addColumn('base_roles', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('roster_entries').dropColumn('base_roles').execute();
}
