import type { CourseRefreshSummary, RefreshPath } from '../jobs/job-kinds.js';
import { JobFailure, type JobDefinition } from '../jobs/types.js';
import { pollReport, startReport, storeReport } from './course-refresh-report.js';
import { runRestRefresh } from './course-refresh-rest.js';
import { openRefreshRun, type RefreshCheckpoint, type RefreshRun, type RestCheckpoint } from './course-refresh-run.js';
import { withFailureCodes } from './job-failures.js';
import type { SyncDeps } from './sync-deps.js';

export type { CourseRefreshParams as RefreshParams, RefreshPath } from '../jobs/job-kinds.js';
export { courseFactsFromJson, courseRow, sectionFactsFromJson, sectionRow } from './course-refresh-rows.js';
export { fetchSections } from './course-refresh-rest.js';
export type { RefreshCheckpoint, RefreshSpent } from './course-refresh-run.js';
export { openProvisioningZip, type ProvisioningReport } from './provisioning-report.js';
export type { SyncDeps } from './sync-deps.js';

/**
 * The course refresh as a `course_refresh` job. Two paths, chosen
 * automatically: BULK through the `provisioning_csv` report (courses + sections in one zip; almost
 * no API cost) when the token may run it, else REST (course pages fetched page-parallel, then
 * sections per course in parallel under the client's throttle governor). Every course is stored
 * with `syncable` + `reasons`; checkpoints after each unit let a restarted process resume.
 *
 * Courses not seen by a refresh that completed are removed with their sections and roster: with
 * `state[]=all` / `include_deleted` a refresh sees deleted courses too, so an unseen course left
 * the account (or was purged). A failed or cancelled refresh removes nothing.
 */
export function createCourseRefreshJob(deps: SyncDeps): JobDefinition<'course_refresh', RefreshCheckpoint> {
  return withFailureCodes({
    kind: 'course_refresh',
    async run(ctx) {
      const r = await openRefreshRun(deps, ctx);
      let cp = ctx.checkpoint;
      let fellBack: string | undefined = cp && 'fellBack' in cp ? cp.fellBack : undefined;
      const toRest = async (why?: string): Promise<RestCheckpoint> => {
        fellBack = why;
        const rest: RestCheckpoint = { path: 'rest', phase: 'courses', nextPage: 1, window: 1, seen: 0, ...(why ? { fellBack: why } : {}) };
        await r.save(rest, { phase: 'courses', done: 0, total: null });
        return rest;
      };

      // Choose the path: bulk through the report unless REST is asked for or the report is refused.
      if (!cp) {
        if (ctx.params.path === 'rest') cp = await toRest();
        else {
          const started = await startReport(r);
          cp = 'refused' in started ? await toRest(started.refused) : started;
        }
      }
      if (cp.path === 'bulk') {
        const { fileUrl, status } = await pollReport(r, cp);
        if (fileUrl) {
          await storeReport(r, cp, fileUrl);
          return finishRefresh(r, 'bulk', fellBack);
        }
        if (ctx.params.path === 'bulk') throw new JobFailure('canvas_unreachable', `The provisioning report ended "${status}" without a file.`);
        cp = await toRest(`report ended ${status}`);
      }
      if (cp.path === 'rest') {
        await runRestRefresh(r, cp, fellBack);
        return finishRefresh(r, 'rest', fellBack);
      }
      throw new JobFailure('internal', 'The refresh checkpoint is not understood; start a new refresh.');
    },
  });
}

/** Removes the courses the completed refresh did not see, and sums up the run. */
async function finishRefresh(r: RefreshRun, path: RefreshPath, fellBack: string | undefined): Promise<CourseRefreshSummary> {
  const { ctx, deps, settings } = r;
  const removed = await deps.courses.removeUnseen(settings.id, ctx.jobId, ctx.startedAt);
  const counts = await deps.courses.countsFor(settings.id);
  const total = r.spent();
  return {
    path,
    ...(fellBack ? { fellBackToRest: fellBack } : {}),
    courses: counts.courses,
    syncable: counts.syncable,
    notSyncable: counts.courses - counts.syncable,
    byReason: counts.byReason,
    sections: counts.sections,
    sectionsMissingId: counts.sectionsMissingId,
    removed,
    requests: total.requests,
    throttled: total.throttled,
    retries: total.retries,
    resumed: ctx.attempt > 1,
    durationMs: total.durationMs,
  };
}
