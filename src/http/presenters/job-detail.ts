import { describeProgress } from '../../jobs/describe-progress.js';
import { describeJobSummary, jobLabel, type HealthCheckJobSummary } from '../../jobs/job-kinds.js';
import { REMEDIES, isReasonCode } from '../../integrations/reasons.js';
import { quantity } from '../../text/quantity.js';
import type { Job } from '../../jobs/types.js';
import type { CourseView } from '../../sync/course-repository.js';
import type { CourseSyncResult, CourseSyncSoFar } from '../../sync/roster-sync.js';
import { COURSE_REASON_HELP, type CourseReason } from '../../sync/sync-reasons.js';
import { STATE_LABELS } from './integration-page.js';


/** One course a roster sync was asked for, and what the job did to it. */
export interface JobCourseOutcome {
  canvasId: string;
  name: string;
  /** The course's page, when the course is in the sync list. */
  known: boolean;
  outcome: 'synced' | 'not_synced' | 'waiting';
  /** E.g. "12 exam-takers, 3 skipped; 2 added, 0 removed, 1 changed". */
  text: string;
}

/** The job detail page's model: what the job did, in sentences, and per course where it has courses. */
export interface JobDetail {
  kindTitle: string;
  progressLabel: string;
  /** Sentences saying what the job did (or is doing), most important first. */
  did: string[];
  /** Not-syncable courses by reason (course refresh). */
  byReason: Array<{ code: string; title: string; count: number }>;
  /** Roster sync: every course it was asked for, in order. */
  courses: JobCourseOutcome[];
  /** Roster sync: the course being synced now, while the job runs. */
  current: { canvasId: string; name: string } | null;
  /** Roster sync: how many of its courses were not synced (so far, while it runs). */
  notSynced: number;
  /** Roster sync: the batch in one sentence (the course in hand and the failures so far, or how it ended), or null. */
  batchLine: string | null;
}

/**
 * The roster sync's batch in one sentence: while it runs, the course in hand and the courses not
 * synced so far; once ended, how many were synced and how many not. Null for other kinds and
 * before the job starts.
 */
function batchLine(job: Job, outcomes: JobCourseOutcome[], current: JobDetail['current']): string | null {
  if (job.kind !== 'course_sync' || job.state === 'queued') return null;
  const failed = outcomes.filter((o) => o.outcome === 'not_synced').length;
  if (job.state === 'running') {
    const now = current ? `Now syncing ${current.name}.` : 'Starting the next course.';
    return failed ? `${now} ${quantity(failed, 'course')} not synced so far (why is in the list below).` : now;
  }
  const synced = outcomes.filter((o) => o.outcome === 'synced').length;
  return `${synced.toLocaleString('en-US')} of ${quantity(outcomes.length, 'course')} synced${failed ? `; ${failed.toLocaleString('en-US')} not synced (why is in the list below)` : ''}.`;
}

const n = (x: unknown) => (typeof x === 'number' ? x.toLocaleString('en-US') : String(x ?? 0));

/**
 * Builds the detail of one job: what it did (the refresh's path, counts and cost; the roster
 * sync's courses with each one's outcome; a health check's result), from its summary and, for a
 * roster sync that has not finished, from `soFar` (its checkpoint: each course done, failures
 * included, and the course in hand). `courses` holds the sync list's rows for the courses the job
 * names (missing ones are shown by id).
 */
export function presentJobDetail(job: Job, courses: Map<string, CourseView>, soFar: CourseSyncSoFar = { results: [], current: null }): JobDetail {
  const s = job.summary ?? {};
  let current: JobDetail['current'] = null;
  const did: string[] = [];
  const byReason: JobDetail['byReason'] = [];
  const outcomes: JobCourseOutcome[] = [];
  const open = job.state === 'queued' || job.state === 'running';

  if (job.kind === 'course_refresh') {
    const path = (job.params.path as string | undefined) ?? 'the fastest allowed path';
    did.push(`Asked to read the integration's whole course list, and each syncable course's sections, from Canvas (through ${path === 'bulk' ? 'the provisioning report' : path === 'rest' ? 'the REST API' : 'the provisioning report when the token may run it, otherwise the REST API'}).`);
    if (job.summary) {
      did.push(`Read ${n(s.courses)} courses via ${s.path === 'bulk' ? 'the provisioning report' : 'the REST API'}: ${n(s.syncable)} syncable, ${n(s.notSyncable)} not syncable.`);
      if (s.fellBackToRest) did.push(`The report could not be used (${String(s.fellBackToRest)}), so it listed courses through the REST API instead.`);
      did.push(`Saved ${n(s.sections)} sections of syncable courses${Number(s.sectionsMissingId) > 0 ? ` (${n(s.sectionsMissingId)} without the chosen ID)` : ''}; removed ${n(s.removed)} courses no longer in Canvas.`);
      did.push(`Canvas requests: ${n(s.requests)} (${n(s.throttled)} throttled, ${n(s.retries)} retried)${s.resumed ? '; resumed after an interruption' : ''}.`);
      for (const [code, count] of Object.entries((s.byReason as Record<string, number> | undefined) ?? {})) {
        byReason.push({ code, title: COURSE_REASON_HELP[code as CourseReason]?.title ?? code, count });
      }
    }
  } else if (job.kind === 'course_sync') {
    const ids = ((job.params.courseIds as string[] | undefined) ?? []).map(String);
    did.push(`Asked to sync the rosters (exam-takers and the people skipped, with reasons) of ${ids.length === 1 ? '1 course' : `${n(ids.length)} courses`}, one after another.`);
    if (job.summary) did.push(`${n(s.examTakers)} exam-takers and ${n(s.skipped)} people skipped in all; ${n(s.added)} added, ${n(s.removed)} removed, ${n(s.changed)} changed since the previous sync.`);
    const results = new Map(((s.courseResults as CourseSyncResult[] | undefined) ?? soFar.results).map((r) => [r.courseId, r]));
    const inHand = job.state === 'running' ? soFar.current : null;
    for (const id of ids) {
      const course = courses.get(id);
      const r = results.get(id);
      let outcome: JobCourseOutcome['outcome'];
      let text: string;
      if (r?.failed) {
        outcome = 'not_synced';
        text = `Not synced: ${r.failed.message}`;
      } else if (r) {
        outcome = 'synced';
        text = `${n(r.examTakers)} exam-takers, ${n(r.skipped)} skipped; ${n(r.added)} added, ${n(r.removed)} removed, ${n(r.changed)} changed`;
      } else if (open) {
        outcome = 'waiting';
        text = id === inHand ? 'Being synced now' : 'Not synced yet';
      } else {
        outcome = 'not_synced';
        text = job.state === 'failed' ? 'Not synced: the job stopped before this course' : job.state === 'cancelled' ? 'Not synced: the job was cancelled first' : 'Not synced';
      }
      const name = course?.name ?? `Course ${id}`;
      if (id === inHand && !r) current = { canvasId: id, name };
      outcomes.push({ canvasId: id, name, known: course !== undefined, outcome, text });
    }
  } else if (job.kind === 'sync_list_sync') {
    did.push(`Asked to re-sync the roster of every course on the sync list${job.params.trigger === 'schedule' ? ', on its schedule' : ''}, several courses at once.`);
    if (job.summary) {
      did.push(`Synced ${n(s.synced)} of ${n(s.courses)} courses: ${n(s.examTakers)} exam-takers; ${n(s.added)} added, ${n(s.removed)} removed, ${n(s.changed)} changed since the previous sync${s.resumed ? '; resumed after an interruption' : ''}.`);
      for (const f of (s.failures as Array<{ courseId: string; code: string; message: string }> | undefined) ?? []) did.push(`Course ${f.courseId} was not synced (${f.code}): ${f.message}`);
    }
  } else if (job.kind === 'health_check') {
    did.push(job.integrationId === '*' ? 'Re-checks the connection of every connected integration with Canvas.' : "Re-checks this integration's connection with Canvas.");
    did.push(...healthCheckSentences(s as HealthCheckJobSummary));
  } else {
    const line = describeJobSummary(job.kind, job.summary);
    if (line) did.push(`${line}.`);
  }
  const notSynced = outcomes.filter((o) => o.outcome === 'not_synced').length;
  return { kindTitle: jobLabel(job.kind), progressLabel: describeProgress(job).label, did, byReason, courses: outcomes, current, notSynced, batchLine: batchLine(job, outcomes, current) };
}

const stateWords = (v: unknown) => STATE_LABELS[String(v)] ?? String(v ?? 'unknown');
/** Reason codes as their titles ("The developer key is OFF for this account"). */
const reasonWords = (v: unknown) =>
  (Array.isArray(v) ? v : [])
    .map((r) => (isReasonCode(r) ? REMEDIES[r].title : String(r)))
    .join('; ');

/**
 * A health check's summary in sentences: how many integrations it checked and whose connection
 * moved (the scheduled check), or the connection it found (the check of one integration).
 */
export function healthCheckSentences(s: HealthCheckJobSummary): string[] {
  const out: string[] = [];
  if (typeof s.checked === 'number') {
    const changed = s.changed ?? [];
    out.push(`Checked ${s.checked === 1 ? '1 connected integration' : `${n(s.checked)} connected integrations`}; ${changed.length === 0 ? 'no connection changed' : changed.length === 1 ? "1 connection's state changed" : `${n(changed.length)} connections' states changed`}.`);
    for (const c of changed) {
      const why = reasonWords(c.reasons);
      out.push(`Integration ${c.integrationId}: from ${stateWords(c.from)} to ${stateWords(c.to)}${why ? ` (${why})` : ''}.`);
    }
  }
  if (s.status && typeof s.status === 'object') {
    const st = s.status as { state?: unknown; reasons?: unknown; missingScopes?: unknown };
    const why = reasonWords(st.reasons);
    const scopes = Array.isArray(st.missingScopes) ? st.missingScopes.map(String) : [];
    out.push(`The connection is ${stateWords(st.state)}${why ? `: ${why}` : ''}.${scopes.length ? ` Missing scopes: ${scopes.join(', ')}.` : ''}`);
  }
  return out;
}
