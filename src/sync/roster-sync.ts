import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { isCanvasApiError } from '../canvas/errors.js';
import type { CourseSyncParams, CourseSyncTotals } from '../jobs/job-kinds.js';
import { JobFailure, type JobDefinition } from '../jobs/types.js';
import { classifyRoster, isoUtc, type CourseFacts, type EnrollmentJson, type RosterPerson, type SectionFacts, type StartDates } from './classify.js';
import { toRosterView, type CourseRow, type RosterEntryView, type RosterRow, type SectionView, type SyncSettings } from './course-repository.js';
import { courseFactsFromJson, courseRow, fetchSections, sectionRow, type SyncDeps } from './course-refresh.js';
import { planRoster, rowsWritten, type StoredCourseState } from './roster-plan.js';
import { withFailureCodes } from './job-failures.js';
import type { RosterReason } from './sync-reasons.js';

/** Enrollment states requested so skipped people can be explained (without `state[]`, Canvas leaves out completed ones). */
export const ROSTER_STATES = ['active', 'invited', 'creation_pending', 'inactive', 'completed'] as const;

export interface RosterDiff {
  added: Array<{ canvasUserId: string; name: string; externalId: string | null }>;
  removed: Array<{ canvasUserId: string; name: string; externalId: string | null; reasons: RosterReason[] }>;
  changed: Array<{ canvasUserId: string; name: string; before: { externalId: string | null; sectionIds: string[] }; after: { externalId: string | null; sectionIds: string[] } }>;
}

export interface RosterResult {
  courseId: string;
  sections: SectionView[];
  people: RosterPerson[];
  /** Only when include[]=email was sent and no enrollment came back with an email (key without "Allow Include Parameters"). */
  includesStripped: boolean;
  diff: RosterDiff;
  counts: { examTakers: number; skipped: number; byReason: Partial<Record<RosterReason, number>> };
  /** What the (not dry) run wrote: rows of courses, sections and roster entries, and change-log entries. */
  written?: { rows: number; changes: number };
}

/** What changes for exam-takers between the stored roster and a fresh one. */
export function diffRoster(before: RosterEntryView[], after: RosterPerson[]): RosterDiff {
  const prev = new Map(before.filter((e) => e.examTaker).map((e) => [e.canvasUserId, e]));
  const next = new Map(after.filter((p) => p.examTaker).map((p) => [p.canvasUserId, p]));
  const diff: RosterDiff = { added: [], removed: [], changed: [] };
  for (const [id, p] of next) {
    const b = prev.get(id);
    if (!b) diff.added.push({ canvasUserId: id, name: p.name, externalId: p.externalId });
    else if (b.externalId !== p.externalId || b.sectionIds.join(',') !== p.sectionIds.join(',')) {
      diff.changed.push({
        canvasUserId: id,
        name: p.name,
        before: { externalId: b.externalId, sectionIds: b.sectionIds },
        after: { externalId: p.externalId, sectionIds: p.sectionIds },
      });
    }
  }
  const reasonsNow = new Map(after.map((p) => [p.canvasUserId, p.reasons]));
  for (const [id, b] of prev) {
    if (!next.has(id)) diff.removed.push({ canvasUserId: id, name: b.name, externalId: b.externalId, reasons: reasonsNow.get(id) ?? [] });
  }
  return diff;
}

/**
 * The course row as Canvas has it now. Facts Canvas left out (`term` / `department` undefined:
 * includes not allowed) keep their stored values, and `not_in_account` (found by a lookup) stays:
 * the course data cannot tell it, so neither is a change.
 */
function freshCourseRow(integrationId: string, facts: CourseFacts, stored: CourseRow | undefined, courseIdType: SyncSettings['courseIdType'], t: string): CourseRow {
  const row = courseRow(integrationId, facts, courseIdType, stored?.refresh_job_id ?? null, t);
  if (stored && facts.term === undefined) {
    row.term_name = stored.term_name;
    row.term_start_at = stored.term_start_at;
    row.term_end_at = stored.term_end_at;
  }
  if (stored && facts.department === undefined) row.department = stored.department;
  if (stored && (JSON.parse(stored.reasons) as string[]).includes('not_in_account')) {
    const reasons = JSON.parse(row.reasons) as string[];
    row.reasons = JSON.stringify([...reasons, 'not_in_account']);
    row.syncable = 0;
  }
  return row;
}

/** REST course JSON → facts, with the term and department undefined when Canvas left them out. */
function courseFactsOfSync(json: Record<string, unknown>): CourseFacts {
  const facts = courseFactsFromJson(json);
  if (!('term' in json)) facts.term = undefined;
  if (!('account' in json) && !('account_name' in json) && !('subaccount_name' in json)) facts.department = undefined;
  return facts;
}

/**
 * Fetches the course itself (one request, with its term): its dates decide who is pending.
 * @throws JobFailure `course_not_found` when Canvas has no such course (it may have been deleted).
 */
async function fetchCourse(client: CanvasClient, auth: AccessTokenSource, courseId: string): Promise<Record<string, unknown>> {
  try {
    return (await client.request<Record<string, unknown>>({ endpoint: 'courses.get', path: { id: courseId }, query: { 'include[]': ['term', 'account'] } }, auth)).body;
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not_found') {
      throw new JobFailure('course_not_found', `Canvas has no course ${courseId} (it may have been deleted). Refresh the course list.`, { cause: err });
    }
    throw err;
  }
}

/**
 * Course roster sync: sections, then every enrollment (bookmark pages, the
 * states of {@link ROSTER_STATES}), grouped per person into exam-takers and skipped-with-reasons.
 * Section membership is each enrollment's `course_section_id`, so it works with "Allow Include
 * Parameters" off; only `include[]=email` is sent (when the user ID type is email), and its
 * stripping is detected. `dryRun` computes the diff against the last sync without saving.
 * @throws CanvasApiError (a deleted course answers not_found), JobFailure for an unknown integration.
 */
export function createRosterSync(deps: SyncDeps) {
  const clock = deps.clock ?? (() => new Date());
  const storeRoster = createRosterStore(deps);
  return async function syncRoster(integrationId: string, courseId: string, opts: { dryRun?: boolean; jobId?: string; signal?: AbortSignal } = {}): Promise<RosterResult> {
    const settings = await deps.courses.getSettings(integrationId);
    if (!settings) throw new JobFailure('not_found', `Integration ${integrationId} does not exist.`);
    const client = deps.clientFor(settings);
    const auth = deps.tokenSourceFor(integrationId);

    const courseJson = await fetchCourse(client, auth, courseId);
    const sectionFacts = await fetchSections(client, auth, courseId);
    const wantEmail = settings.userIdType === 'email';
    const enrollments: EnrollmentJson[] = [];
    try {
      for await (const page of client.pages<EnrollmentJson>(
        {
          endpoint: 'courses.enrollments',
          path: { course_id: courseId },
          query: { 'state[]': [...ROSTER_STATES], per_page: 100, ...(wantEmail ? { 'include[]': ['email'] } : {}) },
        },
        auth,
      )) {
        opts.signal?.throwIfAborted();
        enrollments.push(...page);
      }
    } catch (err) {
      if ((err as { kind?: string }).kind === 'not_found') {
        throw new JobFailure('course_not_found', `Canvas has no course ${courseId} (it may have been deleted). Refresh the course list.`, { cause: err });
      }
      throw err;
    }
    const includesStripped = wantEmail && enrollments.length > 0 && !enrollments.some((e) => e.user && 'email' in e.user);
    const result = await storeRoster(
      integrationId,
      courseId,
      {
        course: courseFactsOfSync(courseJson),
        courseDatesRestricted: courseJson.restrict_enrollments_to_course_dates === true,
        courseStartAt: isoUtc(courseJson.start_at),
        sections: sectionFacts,
        enrollments,
      },
      { dryRun: opts.dryRun, jobId: opts.jobId, settings, now: clock() },
    );
    return { ...result, includesStripped };
  };
}

/** What Canvas has for one course now, however it was read (REST, or the provisioning report). */
export interface RosterInput {
  course: CourseFacts;
  /** Whether the course's participation is limited to its own dates (then `courseStartAt` counts for pending). */
  courseDatesRestricted: boolean;
  courseStartAt: string | null;
  sections: SectionFacts[];
  enrollments: EnrollmentJson[];
}

/**
 * Stores one course's roster from what Canvas has now: classifies the people (exam-takers, course
 * admins, date-based pending), then the diff-based write with its change entries in one
 * transaction (see `CourseRepository.writeRoster`). `dryRun` only computes the diff. The report
 * path of a scheduled sync can call this with rows read from the provisioning report, and with
 * `stored`, what `CourseRepository.readStoredStates` read for many courses at once: a course whose
 * plan against it is empty is then not written at all (no transaction); any other course is
 * planned again inside the write transaction against what is stored at that moment.
 * @throws JobFailure `not_found` for an unknown integration; what the write or a change listener throws
 */
export function createRosterStore(deps: Pick<SyncDeps, 'courses' | 'changeLog' | 'clock'>) {
  const clock = deps.clock ?? (() => new Date());
  return async function storeRoster(
    integrationId: string,
    courseId: string,
    input: RosterInput,
    opts: { dryRun?: boolean; jobId?: string; settings?: SyncSettings; now?: Date; stored?: StoredCourseState } = {},
  ): Promise<Omit<RosterResult, 'includesStripped'>> {
    const settings = opts.settings ?? (await deps.courses.getSettings(integrationId));
    if (!settings) throw new JobFailure('not_found', `Integration ${integrationId} does not exist.`);
    const now = opts.now ?? clock();
    const t = now.toISOString();
    const pre = opts.stored;
    const storedTermStart = async () => {
      if (pre) return pre.course && pre.course.term_name !== null ? pre.course.term_start_at : null;
      return (await deps.courses.getCourse(integrationId, courseId))?.term?.startAt ?? null;
    };
    const dates: StartDates = {
      sectionStart: new Map(input.sections.filter((f) => f.restrictedStartAt !== undefined).map((f) => [f.canvasId, f.restrictedStartAt ?? null])),
      ...(input.courseDatesRestricted ? { courseStart: input.courseStartAt } : {}),
      // Without "Allow Include Parameters" the term is not sent: the last refresh's term dates stand in.
      termStart: input.course.term ? input.course.term.startAt : await storedTermStart(),
    };
    const people = classifyRoster(input.enrollments, {
      userIdType: settings.userIdType,
      studentRoles: settings.studentRoles,
      courseAdminRoles: settings.courseAdminRoles,
      dates,
      now,
    });
    /** The stored roster as the diff compares it (the rows read for the run, or a read now). */
    const storedRoster = async () =>
      pre
        ? pre.roster.map((r) => toRosterView({ ...r, integration_id: integrationId, synced_at: '', job_id: null })).sort(byNameThenId)
        : deps.courses.getRoster(integrationId, courseId);
    const sectionRows = input.sections.map((s) => sectionRow(integrationId, { ...s, courseCanvasId: courseId }, settings.courseIdType, t));
    let written: RosterResult['written'];
    let diff: RosterDiff | undefined;
    if (!opts.dryRun) {
      const rows: RosterRow[] = people.map((p) => ({
        integration_id: integrationId,
        course_canvas_id: courseId,
        canvas_user_id: p.canvasUserId,
        name: p.name,
        roles: JSON.stringify(p.roles),
        base_roles: p.baseRoles ? JSON.stringify(p.baseRoles) : null,
        enrollment_states: JSON.stringify(p.enrollmentStates),
        external_id: p.externalId,
        section_ids: JSON.stringify(p.sectionIds),
        exam_taker: p.examTaker ? 1 : 0,
        reasons: JSON.stringify(p.reasons),
        synced_at: t,
        job_id: opts.jobId ?? null,
        course_admin: p.courseAdmin ? 1 : 0,
        pending_until: p.pendingUntil,
      }));
      const changeLog = deps.changeLog;
      const planFor = (storedState: StoredCourseState) =>
        planRoster(storedState, { course: freshCourseRow(integrationId, input.course, storedState.course, settings.courseIdType, t), sections: sectionRows, roster: rows }, {
          courseAdminRoles: settings.courseAdminRoles,
          syncedAt: t,
        });
      if (pre && rowsWritten(planFor(pre)) === 0) {
        // Nothing differs from what was read for this run: no transaction at all (the common case of
        // a re-sync), and no exam-taker changed either (their rows are the same).
        written = { rows: 0, changes: 0 };
        diff = { added: [], removed: [], changed: [] };
      } else {
        diff = diffRoster(await storedRoster(), people);
        const plan = await deps.courses.writeRoster(integrationId, courseId, {
          lock: changeLog ? (tx) => changeLog.lock(tx, integrationId) : undefined,
          plan: planFor,
          append: changeLog ? async (tx, p) => void (await changeLog.appendIn(tx, integrationId, p.changes)) : undefined,
        });
        written = { rows: rowsWritten(plan) - plan.changes.length, changes: plan.changes.length };
      }
    }
    diff ??= diffRoster(await storedRoster(), people);
    const byReason: Partial<Record<RosterReason, number>> = {};
    for (const p of people) for (const r of p.reasons) byReason[r] = (byReason[r] ?? 0) + 1;
    return {
      courseId,
      sections: sectionRows.map((r) => ({
        canvasId: r.canvas_id,
        name: r.name,
        externalId: r.external_id,
        syncable: r.syncable === 1,
        reasons: JSON.parse(r.reasons) as SectionView['reasons'],
      })),
      people,
      diff,
      counts: { examTakers: people.filter((p) => p.examTaker).length, skipped: people.filter((p) => !p.examTaker).length, byReason },
      ...(written ? { written } : {}),
    };
  };
}

/** The order `CourseRepository.getRoster` returns (name, then user id). */
function byNameThenId(a: RosterEntryView, b: RosterEntryView): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.canvasUserId < b.canvasUserId ? -1 : a.canvasUserId > b.canvasUserId ? 1 : 0;
}

export type RosterStore = ReturnType<typeof createRosterStore>;

export type RosterSync = ReturnType<typeof createRosterSync>;

export type { CourseSyncParams } from '../jobs/job-kinds.js';

/** What a `course_sync` job did to one course (in its summary's `courseResults`, in the order synced). */
export interface CourseSyncResult {
  courseId: string;
  examTakers: number;
  skipped: number;
  added: number;
  removed: number;
  changed: number;
  /** Set when this course could not be synced (the batch went on with the next course). */
  failed?: { code: string; message: string };
}

/** The `course_sync` job's checkpoint: the courses done, what each got, and the course in hand. */
export interface CourseSyncCheckpoint {
  done: string[];
  totals: CourseSyncTotals;
  results?: CourseSyncResult[];
  /** The course being synced when the checkpoint was saved (saved before each course starts). */
  current?: string | null;
}

/** A running `course_sync` job's outcomes so far, read from its checkpoint. */
export interface CourseSyncSoFar {
  /** What each course done so far got (failures included), in the order synced. */
  results: CourseSyncResult[];
  /** The course in hand, or null between courses or before the first. */
  current: string | null;
}

/**
 * Reads a `course_sync` checkpoint as stored (JSON text, or null before the first save) into the
 * outcomes so far. Tolerates checkpoints of older versions (no `results`, no `current`).
 */
export function courseSyncSoFar(stored: string | null): CourseSyncSoFar {
  if (!stored) return { results: [], current: null };
  const cp = JSON.parse(stored) as Partial<CourseSyncCheckpoint> | null;
  return { results: Array.isArray(cp?.results) ? cp.results : [], current: typeof cp?.current === 'string' ? cp.current : null };
}

/**
 * The `course_sync` job: syncs one course or a selection, one after another, checkpointing the
 * courses done (and what each got) so a restart continues with the next one. It also checkpoints
 * the course it starts on, so the job's page can say which course is in hand.
 */
export function createCourseSyncJob(deps: SyncDeps): JobDefinition<'course_sync', CourseSyncCheckpoint> {
  const syncRoster = createRosterSync(deps);
  return withFailureCodes({
    kind: 'course_sync',
    async run(ctx) {
      const ids = [...new Set((ctx.params.courseIds ?? []).map(String))];
      if (ids.length === 0) throw new JobFailure('validation_failed', 'No course to sync.');
      const done = new Set(ctx.checkpoint?.done ?? []);
      const totals: CourseSyncTotals = { examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, ...(ctx.checkpoint?.totals ?? {}) };
      const results: CourseSyncResult[] = [...(ctx.checkpoint?.results ?? [])];
      const warnings: string[] = [];
      await ctx.progress('courses', done.size, ids.length);
      for (const id of ids) {
        if (done.has(id)) continue;
        ctx.signal.throwIfAborted();
        await ctx.saveCheckpoint({ done: [...done], totals, results, current: id }, { phase: 'courses', done: done.size, total: ids.length });
        let r;
        try {
          r = await syncRoster(ctx.integrationId, id, { jobId: ctx.jobId, signal: ctx.signal });
        } catch (err) {
          // A course Canvas no longer has (deleted or moved since the refresh) fails alone: the
          // batch goes on. Anything else (token, throttling, Canvas down) stops the job as before.
          const gone = (err instanceof JobFailure && err.code === 'course_not_found') || (isCanvasApiError(err) && err.kind === 'not_found');
          if (ids.length === 1 || !gone) throw err;
          results.push({ courseId: id, examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, failed: { code: 'course_not_found', message: 'Canvas no longer has this course (deleted or moved since the last refresh). Refresh the course list.' } });
          done.add(id);
          await ctx.saveCheckpoint({ done: [...done], totals, results, current: null }, { phase: 'courses', done: done.size, total: ids.length });
          continue;
        }
        totals.examTakers += r.counts.examTakers;
        totals.skipped += r.counts.skipped;
        totals.added += r.diff.added.length;
        totals.removed += r.diff.removed.length;
        totals.changed += r.diff.changed.length;
        for (const [reason, n] of Object.entries(r.counts.byReason)) totals[`skipped_${reason}`] = (totals[`skipped_${reason}`] ?? 0) + (n ?? 0);
        if (r.includesStripped) warnings.push(`includes_not_allowed: course ${id} came back without emails`);
        results.push({ courseId: id, examTakers: r.counts.examTakers, skipped: r.counts.skipped, added: r.diff.added.length, removed: r.diff.removed.length, changed: r.diff.changed.length });
        done.add(id);
        await ctx.saveCheckpoint({ done: [...done], totals, results, current: null }, { phase: 'courses', done: done.size, total: ids.length });
      }
      const failed = results.filter((x) => x.failed).length;
      return { courses: ids.length, ...totals, courseResults: results, ...(failed ? { failedCourses: failed } : {}), ...(warnings.length ? { warnings } : {}) };
    },
  });
}
