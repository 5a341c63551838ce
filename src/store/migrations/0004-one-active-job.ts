import { sql, type Kysely } from 'kysely';

/**
 * `jobs.dedupe_key` and a unique partial index over (integration_id, kind, dedupe_key) for queued
 * and running jobs: at most one active refresh per integration (and one sync per course), however
 * many requests or instances try to start one at the same moment. The check lives in the database
 * because a read-then-insert in the service is not atomic across requests or instances.
 *
 * Existing rows get their own id as key (never a conflict), except the newest active job of each
 * (integration, kind) other than course_sync, which takes the shared key '' so it keeps blocking a
 * second one after the upgrade.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('dedupe_key', 'text').execute();
  await sql`update jobs set dedupe_key = id`.execute(db);
  const active = await sql<{ id: string; kind: string; integration_id: string }>`
    select id, kind, integration_id from jobs where state in ('queued', 'running') and kind <> 'course_sync'
    order by created_at desc, id desc`.execute(db);
  const taken = new Set<string>();
  for (const r of active.rows) {
    const k = `${r.integration_id}\u0000${r.kind}`;
    if (taken.has(k)) continue;
    taken.add(k);
    await sql`update jobs set dedupe_key = '' where id = ${r.id}`.execute(db);
  }
  await sql`create unique index jobs_one_active on jobs (integration_id, kind, dedupe_key) where state in ('queued', 'running')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_one_active').execute();
  await db.schema.alterTable('jobs').dropColumn('dedupe_key').execute();
}
