import type { Kysely } from 'kysely';

/**
 * `integrations.canvas_other_url`: the institution's Canvas under another name (its vanity domain or
 * its `*.instructure.com` name), set by staff. A report file Canvas names there is downloaded with the
 * token; a file named on any other host is refused. Null: only the Canvas URL itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('integrations').addColumn('canvas_other_url', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('integrations').dropColumn('canvas_other_url').execute();
}
