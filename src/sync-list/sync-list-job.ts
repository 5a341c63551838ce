import type { SyncListSyncSummary } from '../jobs/job-kinds.js';
import { JobFailure, type JobDefinition } from '../jobs/types.js';
import type { RosterResult } from '../sync/roster-sync.js';
import { toJobFailure, withFailureCodes } from '../sync/job-failures.js';
import type { SyncListRepository } from './sync-list-repository.js';

/** Failures that concern one course only: the run records them and goes on with the others. */
const COURSE_FAILURES = new Set(['course_not_found', 'canvas_not_found', 'canvas_bad_request', 'user_not_authorized']);

/** How many courses are synced at once: the integration's governor still paces the Canvas requests. */
export const SYNC_LIST_CONCURRENCY = 4;

export interface SyncListCheckpoint {
  done: string[];
  totals: Omit<SyncListSyncSummary, 'courses' | 'resumed' | 'failures'>;
  failures: SyncListSyncSummary['failures'];
}

export interface SyncListJobDeps {
  repo: Pick<SyncListRepository, 'listedIds' | 'markSynced'>;
  /** The per-course roster sync (src/sync/roster-sync.ts). */
  syncRoster(integrationId: string, courseId: string, opts: { jobId?: string; signal?: AbortSignal }): Promise<RosterResult>;
  clock: () => Date;
  concurrency?: number;
}

/**
 * The `sync_list_sync` job: re-syncs the roster of every listed course with the per-course roster
 * sync, several courses in flight at once. Each finished course is checkpointed (and stamped
 * `last_synced_at`), so a restarted run continues with the courses not yet done. A course that
 * fails on its own (deleted at Canvas, not visible to the token…) is recorded in the summary and
 * the run goes on; a failure of the connection (token revoked, Canvas unreachable, throttled past
 * the budget) fails the run, which resumes from its checkpoint when run again.
 */
export function createSyncListJob(deps: SyncListJobDeps): JobDefinition<'sync_list_sync', SyncListCheckpoint> {
  const concurrency = Math.max(1, deps.concurrency ?? SYNC_LIST_CONCURRENCY);
  return withFailureCodes({
    kind: 'sync_list_sync',
    async run(ctx) {
      const ids = await deps.repo.listedIds(ctx.integrationId);
      const done = new Set(ctx.checkpoint?.done ?? []);
      const totals = { synced: 0, failed: 0, examTakers: 0, added: 0, removed: 0, changed: 0, ...(ctx.checkpoint?.totals ?? {}) };
      const failures = [...(ctx.checkpoint?.failures ?? [])];
      const todo = ids.filter((id) => !done.has(id));
      const total = ids.length;
      let finished = ids.length - todo.length;
      await ctx.progress('courses', finished, total);
      // Checkpoints are written one after another, each with everything finished so far.
      let saving: Promise<void> = Promise.resolve();
      const save = () => {
        const snapshot: SyncListCheckpoint = { done: [...done], totals: { ...totals }, failures: [...failures] };
        saving = saving.then(() => ctx.saveCheckpoint(snapshot, { phase: 'courses', done: finished, total }));
        return saving;
      };
      let next = 0;
      let stopped = false;
      const worker = async () => {
        while (next < todo.length && !stopped) {
          ctx.signal.throwIfAborted();
          const id = todo[next++]!;
          try {
            const r = await deps.syncRoster(ctx.integrationId, id, { jobId: ctx.jobId, signal: ctx.signal });
            totals.synced += 1;
            totals.examTakers += r.counts.examTakers;
            totals.added += r.diff.added.length;
            totals.removed += r.diff.removed.length;
            totals.changed += r.diff.changed.length;
            await deps.repo.markSynced(ctx.integrationId, [id], deps.clock().toISOString());
          } catch (err) {
            ctx.signal.throwIfAborted();
            const f = toJobFailure(err);
            if (!(f instanceof JobFailure) || !COURSE_FAILURES.has(f.code)) {
              // The other workers finish the course they hold and take no other.
              stopped = true;
              throw f;
            }
            totals.failed += 1;
            failures.push({ courseId: id, code: f.code, message: f.message });
          }
          done.add(id);
          finished += 1;
          await save();
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
      await saving;
      return { courses: total, ...totals, failures, resumed: ctx.checkpoint !== null };
    },
  });
}
