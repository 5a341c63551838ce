import { describe, expect, it } from '@jest/globals';
import type { JobContext } from '../../../src/jobs/types.js';
import type { SyncListSyncParams } from '../../../src/jobs/job-kinds.js';
import { createSyncListJob, type SyncListCheckpoint } from '../../../src/sync-list/sync-list-job.js';
import { createSyncListRepository } from '../../../src/sync-list/sync-list-repository.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses } from '../../support/sync-world.js';

/** A context for calling the job's handler directly, as a runner resuming it would. */
function contextFor(integrationId: string, checkpoint: SyncListCheckpoint | null, saved: SyncListCheckpoint[]): JobContext<SyncListSyncParams, SyncListCheckpoint> {
  return {
    jobId: 'job-resume',
    integrationId,
    params: {},
    checkpoint,
    attempt: 2,
    startedAt: new Date().toISOString(),
    saveCheckpoint: async (cp) => void saved.push(structuredClone(cp)),
    progress: async () => undefined,
    isCancelled: () => false,
    signal: new AbortController().signal,
  };
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('the sync_list_sync job (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());

  it('re-syncs every listed course, several at once, records a course that fails and goes on', async () => {
    const h = await ctx.harness(buildSyncWorld({ fillers: 8 }));
    const repo = createSyncListRepository(ctx.store.db);
    const listed = ['101', '1000', '1001', '1002', '1003', '1004', '99999'];
    await repo.change(h.integrationId, { add: listed, remove: [] }, 'test', new Date().toISOString());
    const syncRoster = createRosterSync(h.deps);
    let inFlight = 0;
    let maxInFlight = 0;
    const def = createSyncListJob({
      repo,
      clock: () => new Date(),
      syncRoster: async (...args) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await syncRoster(...args);
        } finally {
          inFlight--;
        }
      },
    });
    const job = await runJob(ctx.store, def, h.integrationId, { trigger: 'manual' });
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ courses: 7, synced: 6, failed: 1, examTakers: 2, added: 2, removed: 0, changed: 0, resumed: false });
    expect(job.summary!.failures).toEqual([{ courseId: '99999', code: 'course_not_found', message: expect.stringContaining('99999') }]);
    expect(maxInFlight).toBeGreaterThan(1);
    const page = await repo.page(h.integrationId, { limit: 100 });
    const synced = Object.fromEntries(page.courses.map((c) => [c.canvasId, c.lastSyncedAt]));
    expect(synced['99999']).toBeNull();
    expect(Object.entries(synced).filter(([k, v]) => k !== '99999' && v === null)).toEqual([]);
    const counts = Object.fromEntries(page.courses.map((c) => [c.canvasId, c.examTakers]));
    expect(counts['101']).toBe(2);
    // Course admins come from the same roster sync (the teacher of course 101).
    expect(page.courses.find((c) => c.canvasId === '101')!.courseAdmins).toBe(1);

    // Nothing changed at Canvas: a second run finds nothing to add or remove.
    const again = await runJob(ctx.store, def, h.integrationId, {});
    expect(again.summary).toMatchObject({ synced: 6, added: 0, removed: 0, changed: 0 });
  });

  it('continues from its checkpoint: the courses done before the restart are not synced again', async () => {
    const h = await ctx.harness(buildSyncWorld({ fillers: 4 }));
    const repo = createSyncListRepository(ctx.store.db);
    await repo.change(h.integrationId, { add: ['101', '1000', '1001', '1002', '1003'], remove: [] }, 'test', new Date().toISOString());
    const syncRoster = createRosterSync(h.deps);
    const calls: string[] = [];
    const def = createSyncListJob({ repo, clock: () => new Date(), concurrency: 2, syncRoster: (i, c, o) => (calls.push(c), syncRoster(i, c, o)) });
    const saved: SyncListCheckpoint[] = [];
    const checkpoint: SyncListCheckpoint = {
      done: ['101', '1000'],
      totals: { synced: 2, failed: 0, examTakers: 2, added: 2, removed: 0, changed: 0 },
      failures: [],
    };
    const summary = await def.run(contextFor(h.integrationId, checkpoint, saved));
    expect(calls.sort()).toEqual(['1001', '1002', '1003']);
    expect(summary).toMatchObject({ courses: 5, synced: 5, examTakers: 2, added: 2, resumed: true });
    // Every finished course was checkpointed, the last checkpoint holding all of them.
    expect(saved).toHaveLength(3);
    expect(saved.at(-1)!.done.sort()).toEqual(['1000', '1001', '1002', '1003', '101']);
  });

  it('fails the run on a connection failure, keeping what it finished for the next attempt', async () => {
    const h = await ctx.harness(buildSyncWorld({ fillers: 3 }));
    const repo = createSyncListRepository(ctx.store.db);
    await repo.change(h.integrationId, { add: ['1000', '1001', '1002'], remove: [] }, 'test', new Date().toISOString());
    const syncRoster = createRosterSync(h.deps);
    const def = createSyncListJob({
      repo,
      clock: () => new Date(),
      concurrency: 1,
      syncRoster: async (i, c, o) => {
        if (c === '1001') h.sandbox.control.revokeTokens();
        return syncRoster(i, c, o);
      },
    });
    const saved: SyncListCheckpoint[] = [];
    const failed = await def.run(contextFor(h.integrationId, null, saved)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failed).toMatchObject({ code: expect.stringMatching(/token_revoked|token_invalid|developer_key_off|token_owner_inactive/) });
    expect(saved.map((s) => s.done)).toEqual([['1000']]);
  });
});
