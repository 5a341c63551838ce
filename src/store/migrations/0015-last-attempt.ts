import type { Kysely } from 'kysely';

/**
 * The latest Generate Keys attempt of an integration, kept apart from its status: a failed or
 * cancelled attempt while a working token is stored must not overwrite the state, reasons and
 * checks that describe that token, yet the admin should still see what happened to the attempt.
 * JSON text `{ at, ok, reason?, detail }`, or null before the first attempt.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('integrations').addColumn('last_attempt', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('integrations').dropColumn('last_attempt').execute();
}
