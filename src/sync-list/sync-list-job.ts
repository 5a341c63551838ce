import type { SyncListSyncSummary } from '../jobs/job-kinds.js';
import { JobFailure, type JobDefinition } from '../jobs/types.js';
import type { RosterReportSource } from '../sync/roster-report.js';
import type { RosterResult } from '../sync/roster-sync.js';
import { toJobFailure, withFailureCodes } from '../sync/job-failures.js';
import type { SyncListRepository } from './sync-list-repository.js';

/** Failures that concern one course only: the run records them and goes on with the others. */
const COURSE_FAILURES = new Set(['course_not_found', 'canvas_not_found', 'canvas_bad_request', 'user_not_authorized']);

/** How many courses are synced at once on the REST path: the integration's governor still paces the Canvas requests. */
export const SYNC_LIST_CONCURRENCY = 4;

/** Courses stored from the report between two checkpoints. */
const REPORT_CHECKPOINT_EVERY = 50;

export interface SyncListCheckpoint {
  done: string[];
  totals: Omit<SyncListSyncSummary, 'courses' | 'resumed' | 'failures' | 'path' | 'fellBack' | 'restCourses'>;
  failures: SyncListSyncSummary['failures'];
  /** The report this run reads (resumed runs poll it again instead of starting another). */
  reportId?: string;
  /** Set once the run has given up on the report: the rest is synced by REST. */
  fellBack?: string;
}

export interface SyncListJobDeps {
  repo: Pick<SyncListRepository, 'listedIds' | 'markSynced'>;
  /** The per-course roster sync (src/sync/roster-sync.ts). */
  syncRoster(integrationId: string, courseId: string, opts: { jobId?: string; signal?: AbortSignal }): Promise<RosterResult>;
  /** One provisioning report for the whole list; without it every course is synced by REST. */
  report?: RosterReportSource;
  clock: () => Date;
  concurrency?: number;
}

type Counted = Pick<RosterResult, 'counts' | 'diff'>;

/**
 * The `sync_list_sync` job: re-syncs the roster of every listed course. Where the token may run
 * the `provisioning_csv` report, one report serves the whole list (its rosters stored with the
 * same diff-based write as REST, so both paths store the same result); courses the report does not
 * hold, and every course when the report is refused or ends without a file, are synced by REST,
 * several at once. Each finished course is checkpointed (and stamped `last_synced_at`), so a
 * restarted run continues with the courses not yet done and polls the same report. A course that
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
      let reportId = ctx.checkpoint?.reportId;
      let fellBack = ctx.checkpoint?.fellBack;
      const total = ids.length;
      let finished = ids.filter((id) => done.has(id)).length;
      await ctx.progress('courses', finished, total);
      // Checkpoints are written one after another, each with everything finished so far.
      let saving: Promise<void> = Promise.resolve();
      const save = (phase = 'courses') => {
        const snapshot: SyncListCheckpoint = { done: [...done], totals: { ...totals }, failures: [...failures], ...(reportId ? { reportId } : {}), ...(fellBack ? { fellBack } : {}) };
        saving = saving.then(() => ctx.saveCheckpoint(snapshot, { phase, done: phase === 'courses' ? finished : 0, total: phase === 'courses' ? total : null }));
        return saving;
      };
      const count = (r: Counted) => {
        totals.synced += 1;
        totals.examTakers += r.counts.examTakers;
        totals.added += r.diff.added.length;
        totals.removed += r.diff.removed.length;
        totals.changed += r.diff.changed.length;
      };

      let todo = ids.filter((id) => !done.has(id));
      let usedReport = false;
      if (deps.report && todo.length > 0 && !fellBack) {
        if (!reportId) {
          const started = await deps.report.start(ctx.integrationId);
          if ('refused' in started) fellBack = started.refused;
          else reportId = started.reportId;
          await save(fellBack ? 'courses' : 'report');
        }
        if (reportId && !fellBack) {
          // What is stored for the list is read while Canvas builds the report (the job would
          // otherwise only wait): each unchanged course is then compared without a query.
          const storedRead = deps.report.storedStates(ctx.integrationId, todo);
          storedRead.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
          const read = await deps.report.read(ctx.integrationId, reportId, new Set(todo), {
            signal: ctx.signal,
            onPoll: (progress) => ctx.progress('report', progress, 100),
          });
          if ('unavailable' in read) {
            fellBack = read.unavailable;
            await save();
          } else {
            usedReport = true;
            await ctx.progress('courses', finished, total);
            const settings = await deps.report.settings(ctx.integrationId);
            const stored = await storedRead;
            /** Stored since the last checkpoint: stamped `last_synced_at` together, then checkpointed. */
            let unmarked: string[] = [];
            const mark = async () => {
              if (unmarked.length > 0) await deps.repo.markSynced(ctx.integrationId, unmarked, deps.clock().toISOString());
              unmarked = [];
              await save();
            };
            for (const [id, input] of read.rosters) {
              ctx.signal.throwIfAborted();
              count(await deps.report.store(ctx.integrationId, id, input, { jobId: ctx.jobId, settings, stored: stored.get(id) }));
              // What is stored is let go course by course, so memory falls as the run goes on.
              stored.delete(id);
              read.rosters.delete(id);
              done.add(id);
              unmarked.push(id);
              finished += 1;
              if (unmarked.length >= REPORT_CHECKPOINT_EVERY) await mark();
            }
            await mark();
            todo = read.missing;
          }
        }
      }

      const restCourses = todo.length;
      let next = 0;
      let stopped = false;
      const worker = async () => {
        while (next < todo.length && !stopped) {
          ctx.signal.throwIfAborted();
          const id = todo[next++]!;
          try {
            count(await deps.syncRoster(ctx.integrationId, id, { jobId: ctx.jobId, signal: ctx.signal }));
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
      return {
        courses: total,
        ...totals,
        failures,
        resumed: ctx.checkpoint !== null,
        path: usedReport ? 'report' : 'rest',
        ...(fellBack ? { fellBack } : {}),
        ...(usedReport ? { restCourses } : {}),
      };
    },
  });
}
