import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { JobFailure } from '../jobs/types.js';
import type { CourseFacts } from './classify.js';
import { nameDepartments, REPORT_REFUSALS, requestProvisioningReport } from './course-refresh-report.js';
import { abortableSleep, kindOf } from './course-refresh-run.js';
import { openProvisioningZip } from './provisioning-report.js';
import { readReportRosters } from './provisioning-rosters.js';
import { createRosterStore, type RosterInput, type RosterResult } from './roster-sync.js';
import type { SyncSettings } from './course-repository.js';
import type { StoredCourseState } from './roster-plan.js';
import type { SyncDeps } from './sync-deps.js';


/** The rosters of the listed courses found in the report; courses it does not hold are left to REST. */
export interface ReportRosters {
  rosters: Map<string, RosterInput>;
  /** Listed courses the report does not hold (another account, deleted without a SIS id…). */
  missing: string[];
}

/**
 * Rosters of many courses from one `provisioning_csv` report (courses, sections, enrollments, users,
 * terms, accounts), stored with the same diff-based write as the per-course REST sync: what a
 * scheduled sync of a long list uses instead of three requests and more per course.
 */
export interface RosterReportSource {
  /**
   * Starts the report. `{ refused }` when the token may not run it (scope, permission, no such
   * report): the caller syncs by REST.
   * @throws the Canvas error for anything else (unreachable, throttled past the budget, revoked token)
   */
  start(integrationId: string): Promise<{ reportId: string } | { refused: string }>;
  /**
   * Polls the report to its end (backing off), downloads its file from the host Canvas names and
   * reads the rosters of `courseIds` out of it. `{ unavailable }` when Canvas ended the report
   * without a file (error, aborted, deleted) or it ran past the timeout.
   * @throws the Canvas error of a poll or the download; JobFailure `report_unreadable` for a broken file
   */
  read(
    integrationId: string,
    reportId: string,
    courseIds: ReadonlySet<string>,
    opts: { signal: AbortSignal; onPoll?: (progress: number) => Promise<void> },
  ): Promise<ReportRosters | { unavailable: string }>;
  /**
   * Stores one course's roster read from the report (the REST path's write, change entries
   * included). With `stored` (from {@link RosterReportSource.storedStates}) a course with nothing
   * changed is compared without a transaction and not written.
   */
  store(
    integrationId: string,
    courseId: string,
    input: RosterInput,
    opts: { jobId?: string; settings?: SyncSettings; stored?: StoredCourseState },
  ): Promise<Omit<RosterResult, 'includesStripped'>>;
  /** What is stored for these courses, read in a few queries right before a run stores them. */
  storedStates(integrationId: string, courseIds: readonly string[]): Promise<Map<string, StoredCourseState>>;
  /** The integration's sync settings, read once for a run's many `store` calls. */
  settings(integrationId: string): Promise<SyncSettings | undefined>;
}

/**
 * How long to wait before the next status poll: the backoff schedule's delay, or less when the
 * report's progress since the first poll it was seen at says it will be done sooner (a report is
 * then fetched within about 50 ms of its end instead of up to a whole step of the schedule later).
 * Never under 100 ms, never over the schedule.
 */
export function nextPollDelay(scheduledMs: number, first: { atMs: number; progress: number } | undefined, now: { atMs: number; progress: number }): number {
  if (!first || now.progress <= first.progress || now.progress >= 100 || now.atMs <= first.atMs) return scheduledMs;
  const perMs = (now.progress - first.progress) / (now.atMs - first.atMs);
  const eta = (100 - now.progress) / perMs;
  return Math.max(100, Math.min(scheduledMs, Math.ceil(eta) + 50));
}

/**
 * The report reader of a sync list run.
 * @throws nothing itself; see each method.
 */
export function createRosterReportSource(deps: SyncDeps): RosterReportSource {
  const clock = deps.clock ?? (() => new Date());
  const sleep = deps.sleep ?? abortableSleep;
  // Small reports (a few thousand rows) finish in seconds: look often at first, then back off.
  const pollDelays = deps.reportPollDelaysMs ?? [200, 200, 200, 200, 200, 300, 300, 500, 500, 1000, 1000, 2000, 5000, 10_000];
  const timeoutMs = deps.reportTimeoutMs ?? 30 * 60_000;
  const storeRoster = createRosterStore(deps);
  const open = async (integrationId: string): Promise<{ client: CanvasClient; auth: AccessTokenSource; account: string }> => {
    const settings = await deps.courses.getSettings(integrationId);
    if (!settings) throw new JobFailure('not_found', `Integration ${integrationId} does not exist.`);
    return { client: deps.clientFor(settings), auth: deps.tokenSourceFor(integrationId), account: settings.accountId || 'self' };
  };
  return {
    async start(integrationId) {
      const { client, auth, account } = await open(integrationId);
      try {
        return { reportId: await requestProvisioningReport(client, auth, account, ['courses', 'sections', 'enrollments', 'users', 'terms', 'accounts']) };
      } catch (err) {
        const k = kindOf(err);
        if (REPORT_REFUSALS.includes(k ?? '')) return { refused: `report not allowed (${k})` };
        throw err;
      }
    },

    async read(integrationId, reportId, courseIds, opts) {
      const { client, auth, account } = await open(integrationId);
      const started = clock().getTime();
      let firstSeen: { atMs: number; progress: number } | undefined;
      let fileUrl: string | undefined;
      for (let i = 0; ; i++) {
        opts.signal.throwIfAborted();
        const res = await client.request<Record<string, unknown>>(
          { endpoint: 'accounts.reports.status', path: { account_id: account, report: 'provisioning_csv', id: reportId } },
          auth,
        );
        const status = String(res.body.status ?? '');
        const progress = Number(res.body.progress ?? 0);
        await opts.onPoll?.(Number.isFinite(progress) ? progress : 0);
        if (status === 'complete') {
          fileUrl = (res.body.file_url as string | undefined) ?? (res.body.attachment as { url?: string } | undefined)?.url;
          if (!fileUrl) return { unavailable: 'the report completed without a file' };
          break;
        }
        if (status === 'error' || status === 'aborted' || status === 'deleted') return { unavailable: `Canvas ended the report: ${status}` };
        if (clock().getTime() - started > timeoutMs) return { unavailable: 'the report ran past the time allowed' };
        const seen = { atMs: clock().getTime(), progress: Number.isFinite(progress) ? progress : 0 };
        firstSeen ??= seen;
        await sleep(nextPollDelay(pollDelays[Math.min(i, pollDelays.length - 1)]!, firstSeen, seen), opts.signal);
      }
      const zip = await client.download(fileUrl, auth, { namedByCanvas: true });
      opts.signal.throwIfAborted();
      const courses = new Map<string, CourseFacts>();
      for await (const c of openProvisioningZip(zip).courses()) if (courseIds.has(c.canvasId)) courses.set(c.canvasId, c);
      // accounts.csv lists only direct sub-accounts: name the others once each, as the refresh does.
      await nameDepartments({ client, auth }, [...courses.values()], new Map());
      const read = await readReportRosters(zip, new Set([...courseIds].filter((id) => courses.has(id))));
      const rosters = new Map<string, RosterInput>();
      for (const [id, r] of read) {
        const course = courses.get(id)!;
        rosters.set(id, {
          course,
          // The report fills a course's dates only when participation is restricted to them.
          courseDatesRestricted: Boolean(course.startAt || course.endAt),
          courseStartAt: course.startAt ?? null,
          sections: r.sections,
          enrollments: r.enrollments,
        });
      }
      return { rosters, missing: [...courseIds].filter((id) => !rosters.has(id)) };
    },

    store(integrationId, courseId, input, opts) {
      return storeRoster(integrationId, courseId, input, { jobId: opts.jobId, settings: opts.settings, stored: opts.stored, now: clock() });
    },
    storedStates(integrationId, courseIds) {
      return deps.courses.readStoredStates(integrationId, courseIds);
    },
    settings(integrationId) {
      return deps.courses.getSettings(integrationId);
    },
  };
}
