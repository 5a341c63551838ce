import { permissionDenied } from './api-auth.js';
import { includes, resolveCourse, withLink, type ApiContext, type ApiHandler } from './canvas-api.js';
import { json, notFound, type SimResponse } from './http-kit.js';
import { ordinal } from './pagination.js';
import { list, str, type ParamHash } from './rails-params.js';
import type { ProgressRecord, SandboxState } from './sandbox-state.js';
import { accountPermissions, courseRights, indexOf } from './visibility.js';
import type { Assignment, Course, GradingType, Submission, User, World } from './world.js';

/**
 * Grade passback as Canvas answers it: assignments (create, list, show), the bulk
 * `update_grades` endpoint answering a Progress whose job runs after a few polls, per-student
 * refusals, manual post policies, and reading submissions back.
 */

const GRADING_TYPES: GradingType[] = ['pass_fail', 'percent', 'letter_grade', 'gpa_scale', 'points', 'not_graded'];
/** Student enrollments the grading job can see (`students_visible_to(include: :inactive)`). */
const GRADABLE_STATES = new Set(['active', 'invited', 'creation_pending', 'inactive']);

function assignmentsOf(world: World): Assignment[] {
  world.assignments ??= [];
  return world.assignments;
}

function submissionsOf(world: World): Submission[] {
  world.submissions ??= [];
  return world.submissions;
}

const nextId = (ids: string[], floor: number) => String(ids.reduce((m, id) => Math.max(m, Number(id) || 0), floor) + 1);

/** Whether the caller may grade in the course: an account admin with manage_grades, or an active teacher / TA. */
function canManageGrades(ctx: ApiContext, course: Course): boolean {
  const admin = accountPermissions(ctx.state.world, ctx.caller.user, course.accountId);
  if (admin) return admin.manage_grades;
  return (indexOf(ctx.state.world).enrollmentsByCourse.get(course.id) ?? []).some(
    (e) => e.userId === ctx.caller.user.id && e.state === 'active' && (e.type === 'TeacherEnrollment' || e.type === 'TaEnrollment'),
  );
}

function assignmentJson(ctx: ApiContext, a: Assignment): Record<string, unknown> {
  return {
    id: Number(a.id),
    name: a.name,
    description: null,
    course_id: Number(a.courseId),
    points_possible: a.pointsPossible,
    grading_type: a.gradingType,
    submission_types: a.submissionTypes,
    published: a.published,
    workflow_state: a.published ? 'published' : 'unpublished',
    unpublishable: true,
    integration_id: a.integrationId ?? null,
    integration_data: a.integrationData ?? {},
    post_manually: Boolean(a.postManually),
    position: a.position,
    due_at: null,
    lock_at: null,
    unlock_at: null,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    html_url: `${ctx.req.origin}/courses/${a.courseId}/assignments/${a.id}`,
  };
}

function liveAssignment(world: World, courseId: string, id: string | undefined): Assignment | undefined {
  return assignmentsOf(world).find((a) => a.id === id && a.courseId === courseId && !a.deleted);
}

const truthy = (v: string | undefined) => v !== undefined && ['true', '1', 'on', 't', 'yes'].includes(v.toLowerCase());

/** POST /api/v1/courses/:course_id/assignments */
export const createAssignment: ApiHandler = (ctx) => {
  const { state } = ctx;
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  if (!course) return notFound();
  if (!canManageGrades(ctx, course)) return permissionDenied(state);
  const p = (ctx.req.params['assignment'] ?? {}) as ParamHash;
  if (typeof p !== 'object' || Array.isArray(p)) return json(400, { errors: { assignment: [{ message: 'assignment must be a hash' }] } });
  const name = str(p, 'name');
  if (!name) return json(400, { errors: { name: [{ attribute: 'name', type: 'blank', message: 'blank' }] } });
  const gradingType = (str(p, 'grading_type') ?? 'points') as GradingType;
  if (!GRADING_TYPES.includes(gradingType)) return json(400, { errors: { grading_type: [{ attribute: 'grading_type', type: 'inclusion', message: 'is not included in the list' }] } });
  let integrationData: Record<string, unknown> | null = null;
  const rawData = str(p, 'integration_data');
  if (rawData !== undefined && rawData !== '') {
    try {
      const parsed: unknown = JSON.parse(rawData);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      integrationData = parsed as Record<string, unknown>;
    } catch {
      return json(400, { errors: { integration_data: [{ attribute: 'integration_data', type: 'invalid', message: 'must be a JSON object string' }] } });
    }
  } else if (p['integration_data'] && typeof p['integration_data'] === 'object' && !Array.isArray(p['integration_data'])) {
    integrationData = p['integration_data'] as Record<string, unknown>;
  }
  const points = str(p, 'points_possible');
  const all = assignmentsOf(state.world);
  const a: Assignment = {
    id: nextId(all.map((x) => x.id), 7000),
    courseId: course.id,
    name,
    pointsPossible: points !== undefined && points !== '' && !Number.isNaN(Number(points)) ? Number(points) : gradingType === 'pass_fail' ? 0 : null,
    gradingType,
    submissionTypes: list(p, 'submission_types') ?? ['none'],
    // New assignments stay unpublished unless asked otherwise.
    published: truthy(str(p, 'published')),
    integrationId: str(p, 'integration_id') ?? null,
    integrationData,
    position: all.filter((x) => x.courseId === course.id).length + 1,
    createdAt: new Date(state.now()).toISOString(),
  };
  all.push(a);
  state.counters.writes.assignmentsCreated++;
  return json(201, assignmentJson(ctx, a));
};

/** GET /api/v1/courses/:course_id/assignments — no integration_id filter; `search_term` matches titles. */
export const listAssignments: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const course = resolveCourse(ctx, req.pathParams['course_id']);
  if (!course) return notFound();
  const rights = courseRights(state, ctx.caller.user, course);
  if (!rights.read) return permissionDenied(state);
  const seesUnpublished = rights.readAsAdmin;
  const search = str(req.params, 'search_term')?.toLowerCase();
  const ids = list(req.params, 'assignment_ids');
  const order = str(req.params, 'order_by') ?? 'position';
  const rows = assignmentsOf(state.world)
    .filter((a) => a.courseId === course.id && !a.deleted && (seesUnpublished || a.published))
    .filter((a) => !search || a.name.toLowerCase().includes(search))
    .filter((a) => !ids || ids.includes(a.id))
    .sort((a, b) => (order === 'name' ? a.name.localeCompare(b.name) || Number(a.id) - Number(b.id) : a.position - b.position || Number(a.id) - Number(b.id)));
  const page = ordinal(req, rows, true);
  return withLink(page.items.map((a) => assignmentJson(ctx, a)), page.link);
};

/** GET /api/v1/courses/:course_id/assignments/:id */
export const showAssignment: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  if (!course) return notFound();
  const rights = courseRights(ctx.state, ctx.caller.user, course);
  if (!rights.read) return permissionDenied(ctx.state);
  const a = liveAssignment(ctx.state.world, course.id, ctx.req.pathParams['id']);
  if (!a || (!a.published && !rights.readAsAdmin)) return notFound();
  return json(200, assignmentJson(ctx, a));
};

/** The course's gradable students, keyed by user id. */
function gradableStudents(world: World, course: Course): Set<string> {
  const out = new Set<string>();
  for (const e of indexOf(world).enrollmentsByCourse.get(course.id) ?? []) {
    if (e.type === 'StudentEnrollment' && GRADABLE_STATES.has(e.state) && !indexOf(world).sections.get(e.sectionId)?.deleted) out.add(e.userId);
  }
  return out;
}

/** `<id>`, `sis_user_id:X`, `sis_login_id:X`, `sis_integration_id:X` → user. */
function resolveStudent(state: SandboxState, key: string): User | undefined {
  const world = state.world;
  if (/^\d+$/.test(key)) return state.user(key);
  const i = key.indexOf(':');
  const kind = key.slice(0, i);
  const v = key.slice(i + 1);
  if (kind === 'sis_user_id') return world.users.find((u) => u.sisUserId === v || u.extraLogins?.some((l) => l.sisUserId === v));
  if (kind === 'sis_login_id') return world.users.find((u) => u.loginId.toLowerCase() === v.toLowerCase());
  if (kind === 'sis_integration_id') return world.users.find((u) => u.integrationId === v);
  return undefined;
}

/** `posted_grade` → score, or undefined when the value cannot be read for this assignment. */
function scoreFor(a: Assignment, posted: string): number | undefined {
  const points = a.pointsPossible ?? 0;
  const v = posted.trim().toLowerCase();
  if (v === 'pass' || v === 'complete') return points;
  if (v === 'fail' || v === 'incomplete') return 0;
  if (/^-?\d+(\.\d+)?%$/.test(v)) return Math.round(points * Number(v.slice(0, -1))) / 100;
  if (/^-?\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    if (a.gradingType === 'pass_fail' && n !== 0 && n !== points) return undefined;
    return n;
  }
  return undefined;
}

function gradeString(a: Assignment, score: number): string {
  if (a.gradingType === 'pass_fail') return score > 0 ? 'complete' : 'incomplete';
  if (a.gradingType === 'percent') return `${a.pointsPossible ? Math.round((score / a.pointsPossible) * 10_000) / 100 : 0}%`;
  return String(score);
}

function submissionFor(world: World, a: Assignment, userId: string): Submission {
  const all = submissionsOf(world);
  let s = all.find((x) => x.assignmentId === a.id && x.userId === userId);
  if (!s) {
    s = unsubmitted(nextId(all.map((x) => x.id), 90_000), a, userId);
    all.push(s);
  }
  return s;
}

/** A student's submission before anything was submitted or graded. */
function unsubmitted(id: string, a: Assignment, userId: string): Submission {
  return {
    id,
    assignmentId: a.id,
    userId,
    score: null,
    grade: null,
    excused: false,
    workflowState: 'unsubmitted',
    gradedAt: null,
    graderId: null,
    postedAt: null,
    comments: [],
  };
}

/** Applies one student's `grade_data` entry (the job's per-student step). */
function applyGrade(state: SandboxState, a: Assignment, userId: string, data: ParamHash, graderId: string): void {
  const world = state.world;
  const s = submissionFor(world, a, userId);
  const nowIso = new Date(state.now()).toISOString();
  let changed = false;
  if (truthy(str(data, 'excuse'))) {
    changed = !s.excused;
    s.excused = true;
    s.score = null;
    s.grade = null;
  } else {
    const posted = str(data, 'posted_grade');
    const score = posted === undefined || posted === '' ? undefined : scoreFor(a, posted);
    // Re-grading to the score already held changes nothing (Canvas's grade_student skips it).
    if (score !== undefined && (s.score !== score || s.excused)) {
      s.score = score;
      s.grade = gradeString(a, score);
      s.excused = false;
      changed = true;
    }
  }
  if (changed) {
    s.workflowState = 'graded';
    s.gradedAt = nowIso;
    s.graderId = graderId;
    if (!a.postManually && !s.postedAt) s.postedAt = nowIso;
    state.counters.writes.gradesStored++;
  }
  const text = str(data, 'text_comment');
  if (text) {
    s.comments.push({ id: nextId(s.comments.map((c) => c.id), 0), authorId: graderId, comment: text, hidden: Boolean(a.postManually) && !s.postedAt, createdAt: nowIso });
  }
}

/**
 * Queues the job and returns its Progress. The job, when it runs, grades every student it can
 * find and collects the others in the failure message.
 */
function queueBulkUpdate(ctx: ApiContext, course: Course, work: Array<{ assignment: Assignment; grades: ParamHash }>): ProgressRecord {
  const { state } = ctx;
  const graderId = ctx.caller.user.id;
  const now = state.now();
  const p: ProgressRecord = {
    id: state.nextId(),
    courseId: course.id,
    userId: graderId,
    tag: 'submissions_update',
    createdAt: now,
    updatedAt: now,
    polls: 0,
    workflowState: 'queued',
    message: null,
    run: () => {
      const world = state.world;
      for (const { assignment } of work) {
        const a = liveAssignment(world, course.id, assignment.id);
        if (!a || !a.published) return `Some assignments are either not published or deleted and can not be graded '${assignment.id}'`;
      }
      const visible = gradableStudents(world, course);
      const missing: string[] = [];
      for (const { assignment, grades } of work) {
        for (const [key, data] of Object.entries(grades)) {
          const user = resolveStudent(state, key);
          if (!user || !visible.has(user.id)) {
            if (!missing.includes(key)) missing.push(key);
            continue;
          }
          applyGrade(state, assignment, user.id, typeof data === 'object' && !Array.isArray(data) ? data : {}, graderId);
        }
      }
      return missing.length ? `Couldn't find User(s) with API ids ${missing.map((m) => `'${m}'`).join(', ')}` : null;
    },
  };
  state.progresses.set(p.id, p);
  return p;
}

/** Advances a Progress by one poll: queued → running → (job runs) completed / failed. */
function advance(state: SandboxState, p: ProgressRecord): void {
  if (p.workflowState === 'completed' || p.workflowState === 'failed') return;
  p.polls++;
  p.updatedAt = state.now();
  if (p.polls >= state.settings.progressPolls) finish(state, p);
  else p.workflowState = 'running';
}

/**
 * Runs the jobs queued at least `progressRunMs` ago: Canvas's job queue runs them whether or not
 * anyone polls their Progress. Returns how many ran.
 */
export function runDueJobs(state: SandboxState): number {
  let n = 0;
  const due = state.now() - state.settings.progressRunMs;
  for (const p of state.progresses.values()) {
    if (p.workflowState === 'completed' || p.workflowState === 'failed' || p.createdAt > due) continue;
    finish(state, p);
    n++;
  }
  return n;
}

function finish(state: SandboxState, p: ProgressRecord): void {
  const failure = p.run();
  p.updatedAt = state.now();
  p.workflowState = failure ? 'failed' : 'completed';
  p.message = failure;
}

/** Runs every queued job now (control `runJobs`). Returns how many finished. */
export function runAllJobs(state: SandboxState): number {
  let n = 0;
  for (const p of state.progresses.values()) {
    if (p.workflowState === 'completed' || p.workflowState === 'failed') continue;
    p.polls = Math.max(p.polls, state.settings.progressPolls - 1);
    advance(state, p);
    n++;
  }
  return n;
}

function progressJson(ctx: ApiContext, p: ProgressRecord): Record<string, unknown> {
  const done = p.workflowState === 'completed' || p.workflowState === 'failed';
  return {
    id: p.id,
    context_id: Number(p.courseId),
    context_type: 'Course',
    user_id: Number(p.userId),
    tag: p.tag,
    completion: done ? 100 : p.workflowState === 'running' ? 50 : 0,
    workflow_state: p.workflowState,
    created_at: new Date(p.createdAt).toISOString(),
    updated_at: new Date(p.updatedAt).toISOString(),
    message: p.message,
    url: `${ctx.req.origin}/api/v1/progress/${p.id}`,
  };
}

/** The synchronous checks, in Canvas's order; returns the refusal or the work to queue. */
function checkBulk(
  ctx: ApiContext,
  course: Course,
  gradeData: unknown,
  ids: (gd: ParamHash) => string[],
  grades: (gd: ParamHash, id: string) => ParamHash,
): SimResponse | Array<{ assignment: Assignment; grades: ParamHash }> {
  if (!gradeData || typeof gradeData !== 'object' || Array.isArray(gradeData) || Object.keys(gradeData).length === 0) {
    return json(400, { error: "'grade_data' parameter required" });
  }
  const gd = gradeData as ParamHash;
  const wanted = ids(gd);
  const found = wanted.map((id) => liveAssignment(ctx.state.world, course.id, id)).filter((a): a is Assignment => a !== undefined);
  if (found.some((a) => !a.published) || !canManageGrades(ctx, course)) return permissionDenied(ctx.state);
  const missing = wanted.filter((id) => !found.some((a) => a.id === id));
  if (missing.length) return json(400, { error: `Some assignments could not be found: ( ${missing.join(', ')} )` });
  return found.map((a) => ({ assignment: a, grades: grades(gd, a.id) }));
}

/** POST /api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades */
export const updateGrades: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  if (!course) return notFound();
  ctx.state.counters.writes.updateGrades++;
  const assignmentId = ctx.req.pathParams['assignment_id']!;
  const work = checkBulk(ctx, course, ctx.req.params['grade_data'], () => [assignmentId], (gd) => gd);
  if (!Array.isArray(work)) return work;
  return json(200, progressJson(ctx, queueBulkUpdate(ctx, course, work)));
};

/** POST /api/v1/courses/:course_id/submissions/update_grades — `grade_data[<assignment_id>][<student_id>]…` */
export const updateGradesMulti: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  if (!course) return notFound();
  ctx.state.counters.writes.updateGrades++;
  const work = checkBulk(
    ctx,
    course,
    ctx.req.params['grade_data'],
    (gd) => Object.keys(gd),
    (gd, id) => {
      const v = gd[id];
      return typeof v === 'object' && !Array.isArray(v) ? v : {};
    },
  );
  if (!Array.isArray(work)) return work;
  return json(200, progressJson(ctx, queueBulkUpdate(ctx, course, work)));
};

/** GET /api/v1/progress/:id — each call moves a pending job one step. */
export const showProgress: ApiHandler = (ctx) => {
  const p = ctx.state.progresses.get(Number(ctx.req.pathParams['id']));
  if (!p) return notFound();
  const admin = accountPermissions(ctx.state.world, ctx.caller.user, ctx.state.world.rootAccountId);
  if (p.userId !== ctx.caller.user.id && !admin) return permissionDenied(ctx.state);
  advance(ctx.state, p);
  return json(200, progressJson(ctx, p));
};

function submissionJson(s: Submission, a: Assignment, asStudent: boolean, withComments: boolean): Record<string, unknown> {
  const hidden = asStudent && Boolean(a.postManually) && !s.postedAt;
  const out: Record<string, unknown> = {
    id: Number(s.id),
    user_id: Number(s.userId),
    assignment_id: Number(a.id),
    score: hidden ? null : s.score,
    grade: hidden ? null : s.grade,
    entered_score: hidden ? null : s.score,
    entered_grade: hidden ? null : s.grade,
    workflow_state: hidden && s.workflowState === 'graded' ? 'unsubmitted' : s.workflowState,
    graded_at: hidden ? null : s.gradedAt,
    grader_id: hidden ? null : s.graderId === null ? null : Number(s.graderId),
    excused: s.excused,
    posted_at: s.postedAt,
    late: false,
    missing: false,
    late_policy_status: null,
    submitted_at: null,
    submission_type: null,
    attempt: null,
  };
  if (withComments) {
    out['submission_comments'] = s.comments
      .filter((c) => !(asStudent && c.hidden && !s.postedAt))
      .map((c) => ({ id: Number(c.id), author_id: Number(c.authorId), comment: c.comment, created_at: c.createdAt }));
  }
  return out;
}

function placeholder(world: World, a: Assignment, userId: string): Submission {
  return submissionsOf(world).find((s) => s.assignmentId === a.id && s.userId === userId) ?? unsubmitted('0', a, userId);
}

/** GET /api/v1/courses/:course_id/assignments/:assignment_id/submissions — every visible student, by user id; no `student_ids[]`. */
export const assignmentSubmissions: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const course = resolveCourse(ctx, req.pathParams['course_id']);
  if (!course) return notFound();
  if (!canManageGrades(ctx, course)) return permissionDenied(state);
  const a = liveAssignment(state.world, course.id, req.pathParams['assignment_id']);
  if (!a) return notFound();
  const students = [...gradableStudents(state.world, course)].sort((x, y) => Number(x) - Number(y));
  const page = ordinal(req, students, true);
  const withComments = includes(ctx).includes('submission_comments');
  return withLink(page.items.map((u) => submissionJson(placeholder(state.world, a, u), a, false, withComments)), page.link);
};

/**
 * GET /api/v1/courses/:course_id/students/submissions — `student_ids[]` (ids or `all`),
 * `assignment_ids[]`. Without `student_ids[]` the caller's own submissions.
 */
export const studentSubmissions: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const course = resolveCourse(ctx, req.pathParams['course_id']);
  if (!course) return notFound();
  const rights = courseRights(state, ctx.caller.user, course);
  if (!rights.read) return permissionDenied(state);
  const grader = canManageGrades(ctx, course);
  const visible = gradableStudents(state.world, course);
  const asked = list(req.params, 'student_ids');
  let students: string[];
  if (!asked) students = visible.has(ctx.caller.user.id) ? [ctx.caller.user.id] : [];
  else if (asked.includes('all')) students = grader ? [...visible] : visible.has(ctx.caller.user.id) ? [ctx.caller.user.id] : [];
  else {
    const ids = asked.map((k) => resolveStudent(state, k)?.id).filter((x): x is string => x !== undefined);
    if (!grader && ids.some((id) => id !== ctx.caller.user.id)) return permissionDenied(state);
    students = ids.filter((id) => visible.has(id));
  }
  const onlyIds = list(req.params, 'assignment_ids');
  const assignments = assignmentsOf(state.world)
    .filter((a) => a.courseId === course.id && !a.deleted && a.published && (!onlyIds || onlyIds.includes(a.id)))
    .sort((x, y) => x.position - y.position);
  const rows = students
    .sort((x, y) => Number(x) - Number(y))
    .flatMap((u) => assignments.map((a) => ({ a, s: placeholder(state.world, a, u) })));
  const page = ordinal(req, rows, true);
  const withComments = includes(ctx).includes('submission_comments');
  return withLink(page.items.map(({ a, s }) => submissionJson(s, a, !grader, withComments)), page.link);
};

/** Marks graded submissions of an assignment as posted (what "Post grades" does). Returns how many. */
export function postGrades(state: SandboxState, assignmentId: string): number {
  const nowIso = new Date(state.now()).toISOString();
  let n = 0;
  for (const s of submissionsOf(state.world)) {
    if (s.assignmentId !== assignmentId || s.postedAt || s.workflowState !== 'graded') continue;
    s.postedAt = nowIso;
    for (const c of s.comments) c.hidden = false;
    n++;
  }
  return n;
}
