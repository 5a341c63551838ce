import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openStore, type Store } from '../../../src/store/database.js';
import { createSyncScheduler, nextDue } from '../../../src/sync-list/scheduler.js';
import { createSyncFeature, type SyncFeature } from '../../../src/sync/sync-feature.js';
import { testDatabases } from '../../support/databases.js';
import { until } from '../../support/instances.js';

describe('nextDue', () => {
  const now = new Date('2026-12-06T12:00:00.000Z');
  it('is one period after the due time, or the first period boundary after now when runs were missed', () => {
    expect(nextDue('2026-12-06T11:59:00.000Z', 15, now)).toBe('2026-12-06T12:14:00.000Z');
    expect(nextDue('2026-12-06T12:00:00.000Z', 15, now)).toBe('2026-12-06T12:15:00.000Z');
    // Down for three hours: one run now, the next a period later (not twelve runs to catch up).
    expect(nextDue('2026-12-06T09:00:00.000Z', 15, now)).toBe('2026-12-06T12:15:00.000Z');
  });
});

describe.each(testDatabases().map((d) => [d.name, d] as const))('the sync list schedule, two instances on one database (%s)', (_name, tdb) => {
  let first: Store & { config: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } };
  let second: Store;
  const features: SyncFeature[] = [];
  const integrationId = 'int-scheduled';

  const feature = (store: Store) =>
    createSyncFeature({
      config: { database: first.config.kind === 'postgres' ? { kind: 'postgres', url: first.config.url } : { kind: 'sqlite', file: first.config.file }, healthCheckIntervalMinutes: 0 } as never,
      store,
      clock: () => new Date(),
      fetch: globalThis.fetch,
      userAgent: 'cc-test',
      tokenSources: { forIntegration: () => ({ current: async () => 'unused', refresh: async () => 'unused' }) },
      // Only the tick each instance runs as it starts: the test then ticks by hand.
      scheduleTickMs: 3_600_000,
    });

  const jobsOf = async () =>
    first.db.selectFrom('jobs').select(['id', 'state']).where('integration_id', '=', integrationId).where('kind', '=', 'sync_list_sync').execute();
  const makeDue = async () => {
    await first.db
      .updateTable('integrations')
      .set({ sync_schedule: JSON.stringify({ everyMinutes: 15 }), next_sync_at: new Date(Date.now() - 60_000).toISOString() })
      .where('id', '=', integrationId)
      .execute();
  };

  beforeAll(async () => {
    first = await tdb.open();
    second = openStore(first.config);
    const t = new Date().toISOString();
    await first.db
      .insertInto('integrations')
      .values({
        id: integrationId,
        name: 'Scheduled U',
        canvas_url: 'https://sched.instructure.com',
        client_id: '10000000000009',
        client_secret_enc: null,
        account_id: 'self',
        course_id_type: 'sis_course_id',
        user_id_type: 'sis_user_id',
        student_roles: '["StudentEnrollment"]',
        lti: null,
        state: 'verified',
        reasons: '[]',
        missing_scopes: '[]',
        checks: '[]',
        token_owner_id: null,
        token_owner_name: null,
        verified_at: t,
        checked_at: t,
        created_at: t,
        updated_at: t,
      })
      .execute();
    await makeDue();
    features.push(feature(first), feature(second));
  });
  afterAll(async () => {
    for (const f of features) await f.runner.stop();
    await second.close();
    await first.close();
  });

  it('two instances starting at once enqueue one run of a due schedule, and move it to the next period', async () => {
    await Promise.all(features.map((f) => f.runner.start()));
    await until('the scheduled run ended', async () => (await jobsOf()).some((j) => j.state === 'succeeded'), 20_000);
    expect(await jobsOf()).toHaveLength(1);
    const row = await first.db.selectFrom('integrations').select('next_sync_at').where('id', '=', integrationId).executeTakeFirstOrThrow();
    expect(Date.parse(row.next_sync_at!)).toBeGreaterThan(Date.now() + 13 * 60_000);
    // Not due any more: ticking again enqueues nothing.
    expect([...(await features[0]!.scheduler.tick()), ...(await features[1]!.scheduler.tick())]).toEqual([]);
  });

  it('two ticks at the same moment on a due schedule: exactly one wins', async () => {
    await makeDue();
    const enqueued = await Promise.all(features.map((f) => f.scheduler.tick()));
    expect(enqueued.flat()).toEqual([integrationId]);
    await until('the second run ended', async () => (await jobsOf()).filter((j) => j.state === 'succeeded').length === 2, 20_000);
    expect(await jobsOf()).toHaveLength(2);
  });

  it('a due schedule while a run is still active does not start a second one (the one-active-job index)', async () => {
    // Runners stopped: the manual run stays queued while the schedule comes due.
    await Promise.all(features.map((f) => f.runner.stop()));
    const active = await features[0]!.jobs.createUnlessActive('sync_list_sync', integrationId, { trigger: 'manual' });
    expect(active.created).toBe(true);
    await makeDue();
    const scheduler = createSyncScheduler({
      repo: features[1]!.syncList,
      enqueue: (id) => features[1]!.jobs.createUnlessActive('sync_list_sync', id, { trigger: 'schedule' }),
      clock: () => new Date(),
    });
    expect(await scheduler.tick()).toEqual([integrationId]);
    const open = (await jobsOf()).filter((j) => j.state === 'queued' || j.state === 'running');
    expect(open.map((j) => j.id)).toEqual([active.job.id]);
  });

  it('a due schedule of an integration that is not connected moves on without a run', async () => {
    await makeDue();
    const before = (await jobsOf()).length;
    const asked: string[] = [];
    const scheduler = createSyncScheduler({
      repo: features[1]!.syncList,
      enqueue: (id) => features[1]!.jobs.createUnlessActive('sync_list_sync', id, { trigger: 'schedule' }),
      isConnected: async (id) => (asked.push(id), false),
      clock: () => new Date(),
    });
    expect(await scheduler.tick()).toEqual([]);
    expect(asked).toEqual([integrationId]);
    expect(await jobsOf()).toHaveLength(before);
    const row = await first.db.selectFrom('integrations').select('next_sync_at').where('id', '=', integrationId).executeTakeFirstOrThrow();
    expect(Date.parse(row.next_sync_at!)).toBeGreaterThan(Date.now() + 13 * 60_000);
  });
});
