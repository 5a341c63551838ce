import type { Logger } from 'pino';
import { createCanvasClient } from '../canvas/client.js';
import { createGovernorRegistry, type GovernorRegistry } from '../canvas/governor-registry.js';
import type { AccessTokenSource } from '../canvas/types.js';
import type { ChangeLog } from '../changes/change-log.js';
import type { Config } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import { createJobRunner } from '../jobs/create-job-runner.js';
import { createHealthCheckJob } from '../jobs/health-check-job.js';
import { notifyWhenFinished, type JobFinishedListener } from '../jobs/job-finished.js';
import { createJobRepository, type JobRepository } from '../jobs/job-repository.js';
import type { HealthCheckJobSummary } from '../jobs/job-kinds.js';
import type { AnyJobDefinition, Job, JobRunner } from '../jobs/types.js';
import type { Store } from '../store/database.js';
import { createCourseLookup, type CourseLookup } from './course-lookup.js';
import { createCourseRefreshJob, type RefreshPath, type SyncDeps } from './course-refresh.js';
import { createCourseRepository, type CourseRepository } from './course-repository.js';
import { createDiagnostics, type Diagnostics } from './diagnostics.js';
import { courseSyncSoFar, createCourseSyncJob, createRosterSync, type CourseSyncSoFar, type RosterSync } from './roster-sync.js';
import { createSyncListJob } from '../sync-list/sync-list-job.js';
import { createRosterReportSource } from './roster-report.js';
import { createSyncListRepository, type SyncListRepository } from '../sync-list/sync-list-repository.js';
import { createSyncScheduler, withSyncScheduler, type SyncScheduler } from '../sync-list/scheduler.js';

export interface SyncFeature {
  courses: CourseRepository;
  jobs: JobRepository;
  runner: JobRunner;
  lookup: CourseLookup;
  /** Synchronous roster sync / preview (`dryRun`) of one course. */
  syncRoster: RosterSync;
  diagnostics: Diagnostics;
  /** The sync list's storage (the sync list service in the container is built on it). */
  syncList: SyncListRepository;
  /** The sync list's schedule; started and stopped with `runner`. */
  scheduler: SyncScheduler;
  /** Starts a course refresh unless one is already queued or running for the integration (then returns that one). */
  startRefresh(integrationId: string, opts?: { path?: RefreshPath }): Promise<Job>;
  /** Starts a roster sync of one course or a selection, unless the same sync is already queued or running (then returns that one). */
  startSync(integrationId: string, courseIds: string[]): Promise<Job>;
  /** Starts a re-sync of the whole sync list unless one is already queued or running (then returns that one). */
  startSyncListSync(integrationId: string): Promise<Job>;
  /**
   * Starts one roster sync of every syncable course of the last refresh. `expected` is the count
   * the person confirmed: when the list changed since (a refresh finished meanwhile), nothing is
   * started and the current count is returned so the page can ask again.
   */
  startSyncAllSyncable(integrationId: string, expected: number): Promise<{ job: Job | null; count: number }>;
  /** The newest roster sync job (of the integration's last 50) whose selection included this course, if any. */
  lastCourseSync(integrationId: string, courseId: string): Promise<Job | undefined>;
  /**
   * A roster sync job's outcomes so far (each course done, failures included, and the course in
   * hand), from its last checkpoint; empty for another kind or before the first course.
   */
  courseSyncSoFar(job: Job): Promise<CourseSyncSoFar>;
}

export interface SyncFeatureDeps {
  config: Pick<Config, 'database' | 'healthCheckIntervalMinutes'>;
  store: Store;
  logger?: Logger;
  clock: () => Date;
  fetch: typeof globalThis.fetch;
  userAgent: string;
  tokenSources: { forIntegration(id: string): AccessTokenSource };
  /** The verification service (`connection` in the container) for the health_check job. */
  health?: {
    verify(integrationId: string, actor: string): Promise<unknown>;
    runHealthChecks(): Promise<unknown>;
  };
  /** The change log roster syncs append to (in the transaction that stores the roster). */
  changeLog?: ChangeLog;
  /** The process's governors (one per integration token); the feature makes its own when absent. */
  governors?: GovernorRegistry;
  /** Overrides for tests and benchmarks. */
  reportPollDelaysMs?: number[];
  /**
   * Whether the integration holds a Canvas token. When given, a refresh or sync is refused up front
   * without one (after Disconnect, or before Generate Keys) instead of queuing a job bound to fail.
   */
  hasToken?(integrationId: string): Promise<boolean>;
  /** Told when a job reaches a final state (the composition root sends the `job.finished` webhook). */
  onJobFinished?: JobFinishedListener;
  /** Job kinds of other features (e.g. grade_post) run by the same runner. */
  moreJobs?: AnyJobDefinition[];
  /** How often the sync list's scheduler looks for due schedules (default a minute). */
  scheduleTickMs?: number;
}

/** The refusal of work that needs Canvas when the integration holds no token. */
function notConnected(): AppError {
  return new AppError(
    'not_connected',
    'This integration holds no Canvas token (it was disconnected, or Generate Keys was never completed), so nothing can be read from Canvas.',
    { help: "Click Generate Keys on the integration's LMS settings page (or POST /api/v1/integrations/:id/authorization-links), then start the refresh or sync again." },
  );
}

/**
 * Composition of course refresh and roster sync: repositories, the refresh / sync / health-check job definitions, the
 * runner for the store's dialect (not started: `main.ts` starts it), lookup and diagnostics.
 * Each job and each lookup gets its own Canvas client, and all of an integration's clients share
 * one throttle governor (Canvas buckets are per token).
 */
export function createSyncFeature(deps: SyncFeatureDeps): SyncFeature {
  const courses = createCourseRepository(deps.store.db, { pgPool: deps.store.pgPool });
  // Every final state is counted in the job metrics and told to onJobFinished.
  const jobs = notifyWhenFinished(createJobRepository(deps.store.db, deps.clock), deps.onJobFinished, deps.logger);
  const governors = deps.governors ?? createGovernorRegistry({ clock: deps.clock });
  const syncDeps: SyncDeps = {
    courses,
    changeLog: deps.changeLog,
    clock: deps.clock,
    clientFor: (s) =>
      createCanvasClient({
        baseUrl: s.canvasUrl,
        otherUrl: s.canvasOtherUrl,
        fetch: deps.fetch,
        userAgent: deps.userAgent,
        clock: deps.clock,
        logger: deps.logger,
        governor: governors.forIntegration(s.id),
      }),
    tokenSourceFor: (id) => deps.tokenSources.forIntegration(id),
    reportPollDelaysMs: deps.reportPollDelaysMs,
  };
  const syncList = createSyncListRepository(deps.store.db);
  const syncRoster = createRosterSync(syncDeps);
  const definitions: AnyJobDefinition[] = [
    createCourseRefreshJob(syncDeps),
    createCourseSyncJob(syncDeps),
    createSyncListJob({ repo: syncList, syncRoster, report: createRosterReportSource(syncDeps), clock: deps.clock }),
    ...(deps.moreJobs ?? []),
  ];
  if (deps.health) {
    const health = deps.health;
    definitions.push(
      createHealthCheckJob({
        runHealthChecks: async (id) => {
          const r = id ? { integrationId: id, status: await health.verify(id, 'system') } : await health.runHealthChecks();
          return JSON.parse(JSON.stringify(r ?? {})) as HealthCheckJobSummary;
        },
      }),
    );
  }
  const jobRunner = createJobRunner({
    store: deps.store,
    postgresUrl: deps.config.database.kind === 'postgres' ? deps.config.database.url : undefined,
    repo: jobs,
    definitions,
    clock: deps.clock,
    logger: deps.logger,
    healthCheckIntervalMinutes: deps.health ? deps.config.healthCheckIntervalMinutes : 0,
  });
  const scheduler = createSyncScheduler({
    repo: syncList,
    enqueue: (id) => jobRunner.enqueue('sync_list_sync', id, { trigger: 'schedule' }),
    isConnected: deps.hasToken,
    clock: deps.clock,
    logger: deps.logger,
    tickMs: deps.scheduleTickMs,
  });
  const runner = withSyncScheduler(jobRunner, scheduler);

  return {
    courses,
    jobs,
    runner,
    lookup: createCourseLookup(syncDeps),
    syncRoster,
    diagnostics: createDiagnostics(courses),
    syncList,
    scheduler,
    async startRefresh(integrationId, opts = {}) {
      if (deps.hasToken && !(await deps.hasToken(integrationId))) throw notConnected();
      // The jobs table answers with the refresh already queued or running, if any (atomically).
      return runner.enqueue('course_refresh', integrationId, opts.path ? { path: opts.path } : {});
    },
    async startSync(integrationId, courseIds) {
      const ids = [...new Set(courseIds.map(String))];
      if (ids.length === 0) throw new AppError('validation_failed', 'courseIds: choose at least one course', { details: { field: 'courseIds' } });
      if (deps.hasToken && !(await deps.hasToken(integrationId))) throw notConnected();
      return runner.enqueue('course_sync', integrationId, { courseIds: ids });
    },
    async startSyncListSync(integrationId) {
      if (deps.hasToken && !(await deps.hasToken(integrationId))) throw notConnected();
      return runner.enqueue('sync_list_sync', integrationId, { trigger: 'manual' });
    },
    async startSyncAllSyncable(integrationId, expected) {
      const ids = await courses.syncableCourseIds(integrationId);
      if (ids.length === 0) throw new AppError('validation_failed', 'No course is syncable: refresh the course list, or see why each course is not syncable.', { details: { field: 'courseIds' } });
      if (ids.length !== expected) return { job: null, count: ids.length };
      return { job: await runner.enqueue('course_sync', integrationId, { courseIds: ids }), count: ids.length };
    },
    async lastCourseSync(integrationId, courseId) {
      const recent = await jobs.list({ integrationId, kind: 'course_sync', limit: 50 });
      return recent.find((j) => ((j.params.courseIds as unknown[] | undefined) ?? []).map(String).includes(courseId));
    },
    async courseSyncSoFar(job) {
      if (job.kind !== 'course_sync') return { results: [], current: null };
      return courseSyncSoFar((await jobs.getRow(job.id))?.checkpoint ?? null);
    },
  };
}
