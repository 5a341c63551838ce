import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * The change log: what each roster sync (and status change) found changed, in `seq` order per
 * integration. `seq` is the database's own counter (an identity column on Postgres, the rowid
 * alias on SQLite, which AUTOINCREMENT keeps from ever reusing), so it only grows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('change_log')
    .addColumn('seq', postgres ? 'bigint' : 'integer', (c) =>
      postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('course_canvas_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  // The course's facts as the last roster sync recorded them: a refresh that updates the course
  // row in between must not hide a change from the change log.
  await db.schema.alterTable('courses').addColumn('synced_facts', 'text').execute();
  await db.schema.createIndex('change_log_integration_seq').on('change_log').columns(['integration_id', 'seq']).execute();
  await db.schema.createIndex('change_log_course_seq').on('change_log').columns(['integration_id', 'course_canvas_id', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('change_log').execute();
  await db.schema.alterTable('courses').dropColumn('synced_facts').execute();
}
