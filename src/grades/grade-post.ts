import { isCanvasApiError } from '../canvas/errors.js';
import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { messageFor } from '../errors/error-codes.js';
import type { GradeExam, GradePostParams, GradePostSummary } from '../jobs/job-kinds.js';
import { JobFailure, type Job, type JobContext, type JobDefinition } from '../jobs/types.js';
import type { CourseRepository, RosterEntryView, SyncSettings } from '../sync/course-repository.js';
import { withFailureCodes } from '../sync/job-failures.js';
import { ROSTER_REASON_HELP } from '../sync/sync-reasons.js';
import type { GradeOutcome, GradePostRecord, GradeRepository } from './grade-repository.js';
import { abortableSleep } from '../sync/course-refresh-run.js';

/** What the `grades.posted` event carries (the webhooks feature delivers it when wired). */
export interface GradesPostedEvent {
  integrationId: string;
  courseId: string;
  examKey: string;
  assignmentId: string | null;
  state: 'succeeded' | 'failed' | 'cancelled';
  counts: Record<GradeOutcome['outcome'], number>;
  jobId: string;
  /** Why the post failed or stopped (null when it succeeded). */
  message: string | null;
}

/** The optional port the composition root wires to the webhooks outbox. Its failure never fails a post. */
export type GradesPostedPort = (event: GradesPostedEvent) => Promise<void> | void;

export interface GradePostDeps {
  grades: GradeRepository;
  courses: Pick<CourseRepository, 'getSettings' | 'getRoster'>;
  clientFor(settings: SyncSettings): CanvasClient;
  tokenSourceFor(integrationId: string): AccessTokenSource;
  clock?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Waits between Progress polls; the last one repeats. */
  progressPollDelaysMs?: number[];
  /** Students per update_grades request. */
  batchSize?: number;
  /**
   * How long to watch Canvas's scores for a batch whose update_grades answer was lost (Canvas
   * may have queued its job): default 2 minutes.
   */
  unconfirmedWaitMs?: number;
  logger?: { warn(obj: unknown, msg: string): void };
}

/**
 * Students per `update_grades` request. Canvas documents no limit on `grade_data`, but Rack
 * refuses a request with more than 4,096 parameters; 1,000 students with a comment each send 2,000.
 */
export const DEFAULT_BATCH_SIZE = 1000;
/** Canvas runs the bulk job within a second or two: poll soon, then back off. */
const DEFAULT_POLL_DELAYS_MS = [25, 50, 100, 250, 500, 1000, 2000];
/** Give up waiting on one Progress after this long (the job then fails; a re-post sends only what is missing). */
const PROGRESS_TIMEOUT_MS = 10 * 60_000;

interface AssignmentJson {
  id: number | string;
  name?: string;
  published?: boolean;
  integration_id?: string | null;
}

interface ProgressJson {
  id: number | string;
  workflow_state: string;
  message?: string | null;
}

interface SubmissionJson {
  user_id: number | string;
  score: number | null;
  excused?: boolean;
  submission_comments?: Array<{ comment?: string | null }>;
}

/** What Canvas holds for one student: the score (null when ungraded or excused) and the comments' texts. */
interface Held {
  score: number | null;
  comments: string[];
}

/** A score that maps to an exam-taker and will be compared with Canvas's. */
interface Candidate {
  userExternalId: string;
  canvasUserId: string;
  score: number;
  comment?: string;
}

/** What the job remembers across a crash: the assignment, and every batch it sent with its Progress. */
export interface GradePostCheckpoint {
  assignmentId?: string;
  assignmentUrl?: string | null;
  assignmentCreated?: boolean;
  /** Canvas user id → score sent (or about to be sent) by any attempt. */
  planned?: Record<string, number>;
  batches?: Array<{ userIds: string[]; progressId: string | null; state?: string; message?: string | null }>;
  writeRequests?: number;
  startedMs?: number;
}

/** The assignment's page at Canvas. */
const assignmentLink = (settings: SyncSettings, courseId: string, id: string) =>
  `${settings.canvasUrl}/courses/${encodeURIComponent(courseId)}/assignments/${encodeURIComponent(id)}`;

const sameScore = (a: number | null | undefined, b: number) => typeof a === 'number' && Math.abs(a - b) < 1e-9;

/**
 * Whether Canvas already holds what a score would post: the same score and, when the score
 * carries a comment, a comment with the same text. A changed comment is posted even when the
 * score is unchanged (the comment is part of what the exam platform posts); the same comment
 * is never added twice.
 */
const holds = (h: Held | undefined, c: { score: number; comment?: string }) =>
  sameScore(h?.score, c.score) && (!c.comment || (h?.comments.includes(c.comment) ?? false));

/** The user id type's values compare case-insensitively for emails and login ids, as Canvas does. */
function keyOf(id: string, userIdType: SyncSettings['userIdType']): string {
  const t = id.trim();
  return userIdType === 'email' || userIdType === 'login_id' ? t.toLowerCase() : t;
}

/** A finite, non-negative number; a numeric string counts (CSV files); anything else is not a score. */
export function readScore(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Sorts the scores against the course's last roster sync: `invalid_score`, `unknown_user`,
 * `not_exam_taker` (with the roster's reasons) are final; the rest are candidates for Canvas.
 */
export function planScores(
  scores: GradePostParams['scores'],
  roster: RosterEntryView[],
  userIdType: SyncSettings['userIdType'],
): { final: Map<number, GradeOutcome>; candidates: Map<number, Candidate> } {
  const people = new Map<string, RosterEntryView>();
  for (const p of roster) if (p.externalId) people.set(keyOf(p.externalId, userIdType), p);
  const final = new Map<number, GradeOutcome>();
  const candidates = new Map<number, Candidate>();
  scores.forEach((s, i) => {
    const score = readScore(s.score);
    if (score === undefined) {
      final.set(i, { userExternalId: s.userExternalId, outcome: 'invalid_score', detail: `${JSON.stringify(s.score ?? null)} is not a finite, non-negative number of points` });
      return;
    }
    const person = people.get(keyOf(s.userExternalId, userIdType));
    if (!person) {
      final.set(i, { userExternalId: s.userExternalId, outcome: 'unknown_user', detail: "No one with this id in the course's last roster sync.", score });
      return;
    }
    if (!person.examTaker) {
      const why = person.reasons.map((r) => `${r}: ${ROSTER_REASON_HELP[r]?.title ?? r}`).join('; ') || 'not an exam-taker';
      final.set(i, { userExternalId: s.userExternalId, outcome: 'not_exam_taker', detail: why, canvasUserId: person.canvasUserId, score });
      return;
    }
    candidates.set(i, { userExternalId: s.userExternalId, canvasUserId: person.canvasUserId, score, ...(s.comment ? { comment: s.comment } : {}) });
  });
  return { final, candidates };
}

/** The quoted ids of Canvas's `Couldn't find User(s) with API ids '1', '2'` message. */
export function idsInProgressMessage(message: string | null | undefined): string[] {
  if (!message || !/Couldn't find User/i.test(message)) return [];
  return [...message.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

/** Canvas calls of one grade post, on one client and token. */
function canvasCalls(client: CanvasClient, auth: AccessTokenSource, courseId: string) {
  return {
    /** The assignment by id; undefined when Canvas no longer has it. */
    async getAssignment(id: string): Promise<AssignmentJson | undefined> {
      try {
        return (await client.request<AssignmentJson>({ endpoint: 'assignments.get', path: { course_id: courseId, id } }, auth)).body;
      } catch (err) {
        if (isCanvasApiError(err) && err.kind === 'not_found') return undefined;
        throw err;
      }
    },
    /** The course's assignment whose integration_id is the exam key (Canvas has no filter on it: list and match). */
    async findByKey(key: string): Promise<AssignmentJson | undefined> {
      for await (const page of client.pages<AssignmentJson>({ endpoint: 'assignments.list', path: { course_id: courseId } }, auth)) {
        const hit = page.find((a) => a.integration_id === key);
        if (hit) return hit;
      }
      return undefined;
    },
    async create(exam: GradeExam): Promise<AssignmentJson> {
      const form: Record<string, string> = {
        'assignment[name]': exam.title,
        'assignment[points_possible]': String(exam.pointsPossible),
        'assignment[grading_type]': 'points',
        'assignment[submission_types][]': 'none',
        'assignment[published]': 'true',
        'assignment[integration_id]': exam.key,
      };
      return (await client.request<AssignmentJson>({ endpoint: 'assignments.create', path: { course_id: courseId }, form }, auth)).body;
    },
    /** Canvas user id → the score (null when ungraded or excused) and comments Canvas holds. */
    async scores(assignmentId: string): Promise<Map<string, Held>> {
      const out = new Map<string, Held>();
      const req = { endpoint: 'submissions.list' as const, path: { course_id: courseId, assignment_id: assignmentId }, query: { 'include[]': ['submission_comments'] } };
      for await (const page of client.pages<SubmissionJson>(req, auth)) {
        for (const s of page) {
          const comments = (s.submission_comments ?? []).map((c) => c.comment ?? '').filter((c) => c !== '');
          out.set(String(s.user_id), { score: s.excused ? null : s.score, comments });
        }
      }
      return out;
    },
    async updateGrades(assignmentId: string, batch: Candidate[]): Promise<ProgressJson> {
      const form: Record<string, string> = {};
      for (const c of batch) {
        form[`grade_data[${c.canvasUserId}][posted_grade]`] = String(c.score);
        if (c.comment) form[`grade_data[${c.canvasUserId}][text_comment]`] = c.comment;
      }
      return (await client.request<ProgressJson>({ endpoint: 'submissions.update_grades', path: { course_id: courseId, assignment_id: assignmentId }, form }, auth)).body;
    },
    async progress(id: string): Promise<ProgressJson> {
      return (await client.request<ProgressJson>({ endpoint: 'progress.get', path: { id } }, auth)).body;
    },
  };
}

type Calls = ReturnType<typeof canvasCalls>;

const countsOf = (outcomes: GradeOutcome[]) => {
  const counts: Record<GradeOutcome['outcome'], number> = { posted: 0, unchanged: 0, unknown_user: 0, not_exam_taker: 0, invalid_score: 0, failed: 0 };
  for (const o of outcomes) counts[o.outcome]++;
  return counts;
};

/** The assignment of an exam, found by what was remembered, else by its integration_id at Canvas. */
async function locateAssignment(calls: Calls, exam: GradeExam, remembered: GradePostRecord | undefined): Promise<AssignmentJson | undefined> {
  if (remembered?.assignmentId) {
    const a = await calls.getAssignment(remembered.assignmentId);
    if (a) return a;
  }
  return calls.findByKey(exam.key);
}

function unpublishedFailure(a: AssignmentJson): JobFailure {
  return new JobFailure(
    'assignment_unpublished',
    messageFor('assignment_unpublished', `assignment ${String(a.id)} "${a.name ?? ''}" is unpublished in Canvas; it is not re-published by this service`),
  );
}

/**
 * The preview of a post (a dry run): the outcome each score would have, from the roster and the
 * scores Canvas holds now. Reads Canvas, writes nothing.
 * @throws CanvasApiError when Canvas cannot be read
 */
export async function previewGradePost(
  deps: GradePostDeps,
  settings: SyncSettings,
  params: GradePostParams,
): Promise<{ outcomes: GradeOutcome[]; assignmentId: string | null; assignmentUrl: string | null; notes: string[] }> {
  const { courseId, exam, scores } = params;
  const roster = await deps.courses.getRoster(settings.id, courseId);
  const { final, candidates } = planScores(scores, roster, settings.userIdType);
  const calls = canvasCalls(deps.clientFor(settings), deps.tokenSourceFor(settings.id), courseId);
  const assignment = await locateAssignment(calls, exam, await deps.grades.get(settings.id, courseId, exam.key));
  const notes: string[] = [];
  let current = new Map<string, Held>();
  if (assignment) {
    current = await calls.scores(String(assignment.id));
    if (assignment.published === false) notes.push(`Assignment ${String(assignment.id)} is unpublished in Canvas: a post would be refused until it is published there.`);
  } else {
    notes.push(`No assignment has integration_id "${exam.key}" yet: a post creates "${exam.title}" (${exam.pointsPossible} points, published).`);
  }
  const outcomes = scores.map((s, i): GradeOutcome => {
    const f = final.get(i);
    if (f) return f;
    const c = candidates.get(i)!;
    return holds(current.get(c.canvasUserId), c)
      ? { userExternalId: c.userExternalId, outcome: 'unchanged', canvasUserId: c.canvasUserId, score: c.score }
      : { userExternalId: c.userExternalId, outcome: 'posted', canvasUserId: c.canvasUserId, score: c.score, detail: 'Dry run: would be posted.' };
  });
  return { outcomes, assignmentId: assignment ? String(assignment.id) : null, assignmentUrl: assignment ? assignmentLink(settings, courseId, String(assignment.id)) : null, notes };
}

/** Whether a refusal of update_grades may come from the assignment being unpublished (Canvas answers "user not authorized" then). */
const mayBeUnpublished = (err: unknown) => isCanvasApiError(err) && err.kind === 'unauthorized';

/** Whether Canvas may have acted on a request whose answer was lost. */
const outcomeUnknown = (err: unknown) => isCanvasApiError(err) && err.outcomeUnknown === true;

type Batch = NonNullable<GradePostCheckpoint['batches']>[number];

/**
 * The `grade_post` job: find or create the exam's assignment, read the scores Canvas holds,
 * send only those that differ with `update_grades` (a batch per request), poll each Progress to
 * its end, read the scores back, and record every student's outcome.
 *
 * Nothing is sent twice. update_grades and the assignment create are not retried by the client;
 * a create whose answer was lost is followed by a look-up by integration_id. Each batch is
 * checkpointed before it is sent and its Progress id right after. A batch without a Progress id
 * (its answer was lost, or the process died before it was saved) is settled by watching
 * Canvas's scores until its students hold what was sent (Canvas ran the job) or the wait ends;
 * then Canvas's scores are read again and only what still differs is sent.
 * A Progress that fails (Canvas could not find some students) still grades the others: the job
 * ends `failed` with Canvas's message, and each student's outcome says what Canvas stored.
 * Endings other than these (Canvas errors, cancellation) are recorded by {@link createGradePostEndings}.
 * @throws JobFailure assignment_unpublished, grade_post_failed; CanvasApiError (coded by withFailureCodes)
 */
export function createGradePostJob(deps: GradePostDeps): JobDefinition<'grade_post', GradePostCheckpoint> {
  const clock = deps.clock ?? (() => new Date());
  const sleep = deps.sleep ?? abortableSleep;
  const delays = deps.progressPollDelaysMs ?? DEFAULT_POLL_DELAYS_MS;
  const batchSize = Math.max(1, deps.batchSize ?? DEFAULT_BATCH_SIZE);
  const unconfirmedWaitMs = deps.unconfirmedWaitMs ?? 2 * 60_000;
  const delay = (i: number) => delays[Math.min(i, delays.length - 1)] ?? 1000;

  async function pollToEnd(calls: Calls, id: string, signal: AbortSignal): Promise<ProgressJson> {
    const until = Date.now() + PROGRESS_TIMEOUT_MS;
    for (let i = 0; ; i++) {
      await sleep(delay(i), signal);
      const p = await calls.progress(id);
      if (p.workflow_state === 'completed' || p.workflow_state === 'failed' || p.workflow_state === 'canceled') return p;
      if (Date.now() > until) return { id, workflow_state: 'failed', message: `Canvas's bulk grade job ${id} did not finish within ${PROGRESS_TIMEOUT_MS / 60_000} minutes.` };
    }
  }

  /**
   * A batch sent without a Progress id known: Canvas may have queued its job (it runs whether or
   * not anyone polls). Watches Canvas's scores until the batch's students hold what was sent, or
   * some do (the job ran and could not grade the others), or the wait ends. Sets the batch's state.
   */
  async function settle(calls: Calls, assignmentId: string, b: Batch, planned: Record<string, { score: number; comment?: string }>, signal: AbortSignal) {
    const until = Date.now() + unconfirmedWaitMs;
    for (let i = 0; ; i++) {
      const held = await calls.scores(assignmentId);
      const landed = b.userIds.filter((uid) => planned[uid] && holds(held.get(uid), planned[uid]));
      if (landed.length === b.userIds.length) {
        b.state = 'completed';
        return;
      }
      if (landed.length > 0 || Date.now() > until) {
        b.state = 'unconfirmed';
        b.message =
          landed.length > 0
            ? `Canvas's answer to a batch was lost; it stored ${landed.length} of its ${b.userIds.length} scores.`
            : `Canvas's answer to a batch was lost and none of its scores appeared within ${Math.round(unconfirmedWaitMs / 1000)} seconds.`;
        return;
      }
      await sleep(delay(i), signal);
    }
  }

  async function run(ctx: JobContext<GradePostParams, GradePostCheckpoint>): Promise<GradePostSummary> {
    const { courseId, exam, scores } = ctx.params;
    const cp: GradePostCheckpoint = { ...(ctx.checkpoint ?? {}) };
    const resumed = ctx.checkpoint !== null;
    cp.startedMs ??= Date.now();
    cp.writeRequests ??= 0;
    cp.planned ??= {};
    cp.batches ??= [];
    const settings = await deps.courses.getSettings(ctx.integrationId);
    if (!settings) throw new JobFailure('not_found', `Integration ${ctx.integrationId} does not exist.`);
    const calls = canvasCalls(deps.clientFor(settings), deps.tokenSourceFor(settings.id), courseId);
    const roster = await deps.courses.getRoster(settings.id, courseId);
    const { final, candidates } = planScores(scores, roster, settings.userIdType);
    const byUser = new Map([...candidates.values()].map((c) => [c.canvasUserId, c]));
    const remembered = await deps.grades.get(settings.id, courseId, exam.key);
    const record = (patch: Partial<GradePostRecord>): GradePostRecord => ({
      integrationId: settings.id,
      courseId,
      exam: { key: exam.key, title: exam.title, pointsPossible: exam.pointsPossible },
      assignmentId: cp.assignmentId ?? remembered?.assignmentId ?? null,
      assignmentUrl: cp.assignmentUrl ?? remembered?.assignmentUrl ?? null,
      jobId: ctx.jobId,
      state: 'running',
      message: null,
      outcomes: remembered?.outcomes ?? [],
      postedAt: remembered?.postedAt ?? null,
      updatedAt: clock().toISOString(),
      ...patch,
    });
    const refuseUnpublished = async (a: AssignmentJson): Promise<never> => {
      await deps.grades.save(record({ assignmentId: String(a.id), assignmentUrl: assignmentLink(settings, courseId, String(a.id)), state: 'failed', message: unpublishedFailure(a).message }));
      throw unpublishedFailure(a);
    };
    /** The score and comment planned for a user (the checkpoint keeps the score; the comment comes from the params). */
    const plannedOf = () => Object.fromEntries(Object.entries(cp.planned!).map(([uid, score]) => [uid, { score, ...(byUser.get(uid)?.comment ? { comment: byUser.get(uid)!.comment } : {}) }]));
    await ctx.progress('assignment', 0, candidates.size);

    if (!cp.assignmentId) {
      let a = await locateAssignment(calls, exam, remembered);
      if (a && a.published === false) await refuseUnpublished(a);
      if (!a) {
        try {
          a = await calls.create(exam);
        } catch (err) {
          // Canvas may have created it before its answer was lost: a second create would make a second assignment.
          if (!outcomeUnknown(err)) throw err;
          a = await calls.findByKey(exam.key);
          if (!a) throw err;
        }
        cp.assignmentCreated = true;
      }
      cp.assignmentId = String(a.id);
      // Built from the integration's Canvas URL, never taken from the answer: it becomes a link on the pages.
      cp.assignmentUrl = assignmentLink(settings, courseId, cp.assignmentId);
      await deps.grades.save(record({}));
      await ctx.saveCheckpoint(cp, { phase: 'assignment', done: 0, total: candidates.size });
    } else if (resumed) {
      // Someone may have unpublished it while the job was down: say so rather than let Canvas refuse the batch.
      const a = await calls.getAssignment(cp.assignmentId);
      if (a && a.published === false) await refuseUnpublished(a);
    }
    const assignmentId = cp.assignmentId;

    // Batches an earlier attempt sent: follow them to their end before anything is compared.
    for (const b of cp.batches) {
      if (b.state) continue;
      if (b.progressId) {
        const p = await pollToEnd(calls, b.progressId, ctx.signal);
        b.state = p.workflow_state;
        b.message = p.message ?? null;
      } else await settle(calls, assignmentId, b, plannedOf(), ctx.signal);
      await ctx.saveCheckpoint(cp);
    }

    await ctx.progress('reading scores', 0, candidates.size);
    const current = await calls.scores(assignmentId);
    const toPost = [...candidates.values()].filter((c) => !holds(current.get(c.canvasUserId), c));
    let sent = 0;
    for (let i = 0; i < toPost.length; i += batchSize) {
      ctx.signal.throwIfAborted();
      const batch = toPost.slice(i, i + batchSize);
      const entry: Batch = { userIds: batch.map((c) => c.canvasUserId), progressId: null };
      for (const c of batch) cp.planned[c.canvasUserId] = c.score;
      cp.batches.push(entry);
      await ctx.saveCheckpoint(cp, { phase: 'posting', done: sent, total: toPost.length });
      let p: ProgressJson | undefined;
      try {
        p = await calls.updateGrades(assignmentId, batch);
      } catch (err) {
        if (outcomeUnknown(err)) {
          cp.writeRequests++;
          await settle(calls, assignmentId, entry, plannedOf(), ctx.signal);
          await ctx.saveCheckpoint(cp);
          // Not confirmed: sending it again could grade and comment twice. A new post sends only what is missing.
          if (entry.state !== 'completed') throw err;
        } else {
          entry.state = 'refused';
          await ctx.saveCheckpoint(cp);
          if (mayBeUnpublished(err)) {
            const a = await calls.getAssignment(assignmentId);
            if (a && a.published === false) await refuseUnpublished(a);
          }
          throw err;
        }
      }
      if (p) {
        cp.writeRequests++;
        entry.progressId = String(p.id);
        await ctx.saveCheckpoint(cp);
        const end = await pollToEnd(calls, entry.progressId, ctx.signal);
        entry.state = end.workflow_state;
        entry.message = end.message ?? null;
      }
      sent += batch.length;
      await ctx.saveCheckpoint(cp, { phase: 'posting', done: sent, total: toPost.length });
    }

    // A Progress that completed graded every student of its batch. After a failed one (it still
    // graded the others) or an unfinished one, what Canvas holds now decides `posted` vs `failed`.
    const failures = cp.batches.filter((b) => b.state !== 'completed');
    let after = current;
    if (failures.length > 0) after = await calls.scores(assignmentId);
    else for (const [uid, score] of Object.entries(cp.planned)) after.set(uid, { score, comments: [...(after.get(uid)?.comments ?? []), ...(byUser.get(uid)?.comment ? [byUser.get(uid)!.comment!] : [])] });
    const messageFor1 = (uid: string) => {
      const b = failures.find((x) => x.userIds.includes(uid) && (idsInProgressMessage(x.message).includes(uid) || idsInProgressMessage(x.message).length === 0));
      return b?.message ?? failures.find((x) => x.userIds.includes(uid))?.message ?? null;
    };
    const outcomes = scores.map((s, i): GradeOutcome => {
      const f = final.get(i);
      if (f) return f;
      const c = candidates.get(i)!;
      const base = { userExternalId: c.userExternalId, canvasUserId: c.canvasUserId, score: c.score };
      const planned = cp.planned![c.canvasUserId];
      if (holds(after.get(c.canvasUserId), c)) return { ...base, outcome: planned !== undefined ? 'posted' : 'unchanged' };
      return { ...base, outcome: 'failed', detail: messageFor1(c.canvasUserId) ?? 'Canvas did not store the score.' };
    });
    const counts = countsOf(outcomes);
    const canvasMessages = [...new Set(failures.map((b) => b.message).filter((m): m is string => Boolean(m)))];
    const state = counts.failed > 0 ? 'failed' : 'succeeded';
    const message = counts.failed > 0 ? `${counts.failed} ${counts.failed === 1 ? 'score was' : 'scores were'} not stored. Canvas: ${canvasMessages.join(' / ') || 'no message'}` : null;
    await deps.grades.save(record({ state, message, outcomes, postedAt: clock().toISOString() }));
    if (counts.failed > 0) throw new JobFailure('grade_post_failed', messageFor('grade_post_failed', message ?? ''));
    return {
      examKey: exam.key,
      assignmentId,
      posted: counts.posted,
      unchanged: counts.unchanged,
      unknownUser: counts.unknown_user,
      notExamTaker: counts.not_exam_taker,
      invalidScore: counts.invalid_score,
      failed: counts.failed,
      writeRequests: cp.writeRequests,
      assignmentCreated: Boolean(cp.assignmentCreated),
      resumed,
      durationMs: Date.now() - cp.startedMs,
    };
  }

  return withFailureCodes({ kind: 'grade_post', run });
}

export interface GradePostEndingsDeps {
  grades: GradeRepository;
  onPosted?: GradesPostedPort;
  clock?: () => Date;
  logger?: { warn(obj: unknown, msg: string): void };
}

/** What the exam's record says when a post was cancelled. */
const CANCELLED_MESSAGE = 'The post was cancelled. Scores Canvas stored before it stopped stay stored; post again to send the rest.';

/**
 * What happens once a `grade_post` job reached its final state (called by the runner's
 * job-finished listener, so after that state is saved): the exam's record leaves `running` on
 * every ending (a Canvas error, a refused scope, a cancel, a crash the runner gave up on are
 * recorded `failed` / `cancelled` with the job's message), then `grades.posted` is sent once.
 * A job cancelled while still queued changed nothing and is not announced. Never throws: a
 * failing record write or event hand-over is logged.
 */
export function createGradePostEndings(deps: GradePostEndingsDeps): (job: Job) => Promise<void> {
  const clock = deps.clock ?? (() => new Date());
  return async (job) => {
    if (job.kind !== 'grade_post' || (job.state !== 'succeeded' && job.state !== 'failed' && job.state !== 'cancelled')) return;
    if (job.state === 'cancelled' && !job.startedAt) return;
    const params = job.params as unknown as GradePostParams;
    const state = job.state;
    try {
      let rec = await deps.grades.get(job.integrationId, params.courseId, params.exam.key);
      if (!rec || rec.jobId !== job.id || rec.state === 'running') {
        const message = state === 'cancelled' ? CANCELLED_MESSAGE : (job.error?.message ?? null);
        const mine = rec?.jobId === job.id;
        rec = {
          integrationId: job.integrationId,
          courseId: params.courseId,
          exam: { key: params.exam.key, title: params.exam.title, pointsPossible: params.exam.pointsPossible },
          assignmentId: rec?.assignmentId ?? null,
          assignmentUrl: rec?.assignmentUrl ?? null,
          jobId: job.id,
          state: state === 'succeeded' ? 'succeeded' : state,
          message,
          // An earlier post's outcomes are not this post's: the record shows what this one left.
          outcomes: mine ? rec!.outcomes : [],
          postedAt: mine ? rec!.postedAt : null,
          updatedAt: clock().toISOString(),
        };
        await deps.grades.save(rec);
      }
      if (!deps.onPosted) return;
      await deps.onPosted({
        integrationId: job.integrationId,
        courseId: params.courseId,
        examKey: params.exam.key,
        assignmentId: rec.assignmentId,
        state,
        counts: countsOf(rec.outcomes),
        jobId: job.id,
        message: state === 'succeeded' ? null : (rec.message ?? job.error?.message ?? null),
      });
    } catch (err) {
      deps.logger?.warn({ err, jobId: job.id }, 'the end of a grade post could not be recorded or announced');
    }
  };
}
