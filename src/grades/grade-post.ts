import { isCanvasApiError } from '../canvas/errors.js';
import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { messageFor } from '../errors/error-codes.js';
import type { GradeExam, GradePostParams, GradePostSummary } from '../jobs/job-kinds.js';
import { JobFailure, type JobContext, type JobDefinition } from '../jobs/types.js';
import type { CourseRepository, RosterEntryView, SyncSettings } from '../sync/course-repository.js';
import { withFailureCodes } from '../sync/job-failures.js';
import { ROSTER_REASON_HELP } from '../sync/sync-reasons.js';
import type { GradeOutcome, GradePostRecord, GradeRepository } from './grade-repository.js';
import { abortableSleep } from '../sync/course-refresh-run.js';
import { quantity } from '../text/quantity.js';

/** What the `grades.posted` event carries (the webhooks feature delivers it when wired). */
export interface GradesPostedEvent {
  integrationId: string;
  courseId: string;
  examKey: string;
  assignmentId: string | null;
  state: 'succeeded' | 'failed';
  counts: Record<GradeOutcome['outcome'], number>;
  jobId: string;
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
  onPosted?: GradesPostedPort;
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
    /** Canvas user id → the score Canvas holds (null when ungraded or excused). */
    async scores(assignmentId: string): Promise<Map<string, number | null>> {
      const out = new Map<string, number | null>();
      for await (const page of client.pages<SubmissionJson>({ endpoint: 'submissions.list', path: { course_id: courseId, assignment_id: assignmentId } }, auth)) {
        for (const s of page) out.set(String(s.user_id), s.excused ? null : s.score);
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
  let current = new Map<string, number | null>();
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
    return sameScore(current.get(c.canvasUserId), c.score)
      ? { userExternalId: c.userExternalId, outcome: 'unchanged', canvasUserId: c.canvasUserId, score: c.score }
      : { userExternalId: c.userExternalId, outcome: 'posted', canvasUserId: c.canvasUserId, score: c.score, detail: 'Dry run: would be posted.' };
  });
  return { outcomes, assignmentId: assignment ? String(assignment.id) : null, assignmentUrl: assignment ? assignmentLink(settings, courseId, String(assignment.id)) : null, notes };
}

/**
 * The `grade_post` job: find or create the exam's assignment, read the scores Canvas holds,
 * send only those that differ with `update_grades` (a batch per request), poll each Progress to
 * its end, read the scores back, and record every student's outcome.
 *
 * Resuming after a crash never posts a score twice: each batch is checkpointed before it is
 * sent and its Progress id right after; a resumed attempt first follows the Progresses it
 * knows, then re-reads Canvas's scores and sends only what still differs.
 * A Progress that fails (Canvas could not find some students) still grades the others: the job
 * ends `failed` with Canvas's message, and each student's outcome says what Canvas stored.
 * @throws JobFailure assignment_unpublished, grade_post_failed; CanvasApiError (coded by withFailureCodes)
 */
export function createGradePostJob(deps: GradePostDeps): JobDefinition<'grade_post', GradePostCheckpoint> {
  const clock = deps.clock ?? (() => new Date());
  const sleep = deps.sleep ?? abortableSleep;
  const delays = deps.progressPollDelaysMs ?? DEFAULT_POLL_DELAYS_MS;
  const batchSize = Math.max(1, deps.batchSize ?? DEFAULT_BATCH_SIZE);

  async function pollToEnd(calls: Calls, id: string, signal: AbortSignal): Promise<ProgressJson> {
    const until = Date.now() + PROGRESS_TIMEOUT_MS;
    for (let i = 0; ; i++) {
      await sleep(delays[Math.min(i, delays.length - 1)] ?? 1000, signal);
      const p = await calls.progress(id);
      if (p.workflow_state === 'completed' || p.workflow_state === 'failed' || p.workflow_state === 'canceled') return p;
      if (Date.now() > until) return { id, workflow_state: 'failed', message: `Canvas's bulk grade job ${id} did not finish within ${PROGRESS_TIMEOUT_MS / 60_000} minutes.` };
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
    await ctx.progress('assignment', 0, candidates.size);

    if (!cp.assignmentId) {
      let a = await locateAssignment(calls, exam, remembered);
      if (a && a.published === false) {
        await deps.grades.save(record({ assignmentId: String(a.id), assignmentUrl: assignmentLink(settings, courseId, String(a.id)), state: 'failed', message: unpublishedFailure(a).message }));
        throw unpublishedFailure(a);
      }
      if (!a) {
        a = await calls.create(exam);
        cp.assignmentCreated = true;
      }
      cp.assignmentId = String(a.id);
      // Built from the integration's Canvas URL, never taken from the answer: it becomes a link on the pages.
      cp.assignmentUrl = assignmentLink(settings, courseId, cp.assignmentId);
      await deps.grades.save(record({}));
      await ctx.saveCheckpoint(cp, { phase: 'assignment', done: 0, total: candidates.size });
    }
    const assignmentId = cp.assignmentId;

    // Batches an earlier attempt sent: follow them to their end before anything is compared.
    for (const b of cp.batches) {
      if (b.state || !b.progressId) continue;
      const p = await pollToEnd(calls, b.progressId, ctx.signal);
      b.state = p.workflow_state;
      b.message = p.message ?? null;
      await ctx.saveCheckpoint(cp);
    }

    await ctx.progress('reading scores', 0, candidates.size);
    const current = await calls.scores(assignmentId);
    const toPost = [...candidates.values()].filter((c) => !sameScore(current.get(c.canvasUserId), c.score));
    let sent = 0;
    for (let i = 0; i < toPost.length; i += batchSize) {
      ctx.signal.throwIfAborted();
      const batch = toPost.slice(i, i + batchSize);
      const entry: NonNullable<GradePostCheckpoint['batches']>[number] = { userIds: batch.map((c) => c.canvasUserId), progressId: null };
      for (const c of batch) cp.planned[c.canvasUserId] = c.score;
      cp.batches.push(entry);
      await ctx.saveCheckpoint(cp, { phase: 'posting', done: sent, total: toPost.length });
      const p = await calls.updateGrades(assignmentId, batch);
      cp.writeRequests++;
      entry.progressId = String(p.id);
      await ctx.saveCheckpoint(cp);
      const end = await pollToEnd(calls, entry.progressId, ctx.signal);
      entry.state = end.workflow_state;
      entry.message = end.message ?? null;
      sent += batch.length;
      await ctx.saveCheckpoint(cp, { phase: 'posting', done: sent, total: toPost.length });
    }

    // A Progress that completed graded every student of its batch. After a failed one (it still
    // graded the others) or an unfinished one, what Canvas holds now decides `posted` vs `failed`.
    const failures = cp.batches.filter((b) => b.state !== 'completed');
    let after = current;
    if (failures.length > 0) after = await calls.scores(assignmentId);
    else for (const [uid, score] of Object.entries(cp.planned)) after.set(uid, score);
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
      if (sameScore(after.get(c.canvasUserId), c.score)) return { ...base, outcome: planned !== undefined ? 'posted' : 'unchanged' };
      return { ...base, outcome: 'failed', detail: messageFor1(c.canvasUserId) ?? 'Canvas did not store the score.' };
    });
    const counts = countsOf(outcomes);
    const canvasMessages = [...new Set(failures.map((b) => b.message).filter((m): m is string => Boolean(m)))];
    const state = counts.failed > 0 ? 'failed' : 'succeeded';
    const message = counts.failed > 0 ? `${quantity(counts.failed, 'score')} not stored. Canvas: ${canvasMessages.join(' / ') || 'no message'}` : null;
    await deps.grades.save(record({ state, message, outcomes, postedAt: clock().toISOString() }));
    if (deps.onPosted) {
      try {
        await deps.onPosted({ integrationId: settings.id, courseId, examKey: exam.key, assignmentId, state, counts, jobId: ctx.jobId });
      } catch (err) {
        deps.logger?.warn({ err, jobId: ctx.jobId }, 'grades.posted event could not be handed over');
      }
    }
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
