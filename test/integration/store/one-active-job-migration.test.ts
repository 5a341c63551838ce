import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Migrator, type Kysely } from 'kysely';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { migrateToLatest, openStore, type Store } from '../../../src/store/database.js';
import { migrationProvider } from '../../../src/store/migrations/index.js';
import { createPostgresDatabase, testDatabases } from '../../support/databases.js';

async function openAt0003(name: 'sqlite' | 'postgres'): Promise<{ store: Store; cleanup(): Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cc-mig-'));
    const store = openStore({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
    return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const pg = await createPostgresDatabase(process.env.TEST_DATABASE_URL!);
  return { store: openStore({ kind: 'postgres', url: pg.url }), cleanup: pg.drop };
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('migration 0004-one-active-job (%s)', (name) => {
  it('upgrades a database that already holds duplicate active jobs, and the newest active refresh keeps blocking a second one', async () => {
    const { store, cleanup } = await openAt0003(name);
    try {
      const r = await new Migrator({ db: store.db, provider: migrationProvider }).migrateTo('0003-section-refresh-job');
      expect(r.error).toBeUndefined();
      const row = (id: string, kind: string, state: string, createdAt: string, params = '{}') => ({
        id,
        kind,
        integration_id: 'int-a',
        state,
        params,
        phase: state,
        done: 0,
        total: null,
        eta_seconds: null,
        checkpoint: null,
        summary: null,
        error_code: null,
        error_message: null,
        cancel_requested: 0,
        lease_owner: null,
        lease_expires_at: null,
        attempts: 0,
        created_at: createdAt,
        started_at: null,
        finished_at: null,
        updated_at: createdAt,
      });
      // What the old read-then-insert let through: two active refreshes, two syncs of one course.
      await (store.db as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .insertInto('jobs')
        .values([
          row('old-refresh', 'course_refresh', 'running', '2026-01-01T00:00:00.000Z'),
          row('new-refresh', 'course_refresh', 'queued', '2026-01-01T00:00:01.000Z'),
          row('done-refresh', 'course_refresh', 'succeeded', '2026-01-01T00:00:02.000Z'),
          row('sync-1', 'course_sync', 'queued', '2026-01-01T00:00:00.000Z', '{"courseIds":["101"]}'),
          row('sync-2', 'course_sync', 'queued', '2026-01-01T00:00:01.000Z', '{"courseIds":["101"]}'),
        ])
        .execute();
      await migrateToLatest(store.db);
      const repo = createJobRepository(store.db);
      expect(await repo.createUnlessActive('course_refresh', 'int-a', {})).toMatchObject({ created: false, job: { id: 'new-refresh' } });
      // The old syncs carry their own keys; new ones are held to one per course from now on.
      const a = await repo.create('course_sync', 'int-a', { courseIds: ['101'] });
      expect(['sync-1', 'sync-2']).not.toContain(a.id);
      expect((await repo.create('course_sync', 'int-a', { courseIds: ['101'] })).id).toBe(a.id);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});
