import type { Request, Response } from 'express';
import { postGrades, runAllJobs, runDueJobs } from './grades.js';
import type { ThrottleSettings } from './leaky-bucket.js';
import { emptyCounters, type Counters, type FaultKind, type SandboxSettings, type SandboxState } from './sandbox-state.js';
import type { AdminPermissions, Assignment, Course, DeveloperKey, Enrollment, EnrollmentState, EnrollmentType, User } from './world.js';

/** Picks one enrollment: by id, or by user + course (+ type). */
export interface EnrollmentRef {
  enrollmentId?: string;
  userId?: string;
  courseId?: string;
  type?: EnrollmentType;
}

/**
 * Fault injection and inspection for tests and demos. Every method is also reachable over HTTP:
 * `GET /__sandbox/counters`, and `POST /__sandbox/<method>` with the method's argument as the
 * JSON body (e.g. `POST /__sandbox/setKey {"binding":"off"}`); the answer is `{"result": …}`.
 * `keyId` defaults to the world's first developer key.
 */
export interface SandboxControl {
  /** Changes key fields: binding on/off, workflowState (deactivate), requireScopes, allowIncludes, trusted, ... */
  setKey(args: { keyId?: string } & Partial<Omit<DeveloperKey, 'id'>>): DeveloperKey;
  /** Adds scopes; existing tokens keep working without gaining them. */
  addScopes(args: { keyId?: string; scopes: string[] }): DeveloperKey;
  /** Removes scopes and, as Canvas does, deletes every token of the key. Returns tokens deleted. */
  removeScopes(args: { keyId?: string; scopes: string[] }): number;
  /** Deletes (revokes) tokens of a user and/or key (all when neither given). Returns how many. */
  revokeTokens(args?: { userId?: string; keyId?: string }): number;
  /** Makes access tokens need a refresh now (refresh tokens stay valid). Returns how many. */
  expireTokens(args?: { userId?: string; keyId?: string }): number;
  suspendUser(args: { userId: string; suspended?: boolean }): void;
  /** Overrides some admin permissions of a user (creates the admin role on the root account if absent). */
  setPermissions(args: { userId: string; permissions: Partial<AdminPermissions> }): void;
  /** Changes runtime settings: latencyMs, requestCost, rateLimitMode, permissionDeniedStatus, tokenTtlSeconds, ... */
  configure(args: Partial<Omit<SandboxSettings, 'throttle'>> & { throttle?: Partial<ThrottleSettings> }): SandboxSettings;
  /**
   * The next `count` (default 1) requests whose path matches the regex `path` get the fault;
   * with `afterApplying` the request is first handled as usual (Canvas acted on it) and only its
   * answer is lost (500, hang, reset…).
   */
  injectFault(args: { path: string; method?: string; kind: FaultKind; count?: number; afterApplying?: boolean }): void;
  clearFaults(): void;
  /** A snapshot of the counters (exact: tests assert on them). */
  counters(): Counters;
  resetCounters(): void;
  /** Empties every throttle bucket. */
  resetThrottle(): void;
  /** Active access tokens (ids only, never the secrets), for assertions. */
  activeTokens(args?: { userId?: string; keyId?: string }): Array<{ id: number; userId: string; keyId: string; scopes: string[] }>;
  /** World change: a new user (id and login chosen when absent). Returns the user. */
  addUser(args: Partial<User> & { name: string }): User;
  /**
   * World change: enrolls a user in a section (or the course's first section). Returns the
   * enrollment. @throws on an unknown user, course or section.
   */
  enroll(args: { userId: string; courseId?: string; sectionId?: string; type?: EnrollmentType; state?: EnrollmentState; role?: string; startAt?: string | null; endAt?: string | null }): Enrollment;
  /** World change: the enrollment becomes `deleted` (dropped). */
  dropEnrollment(args: EnrollmentRef): Enrollment;
  /** World change: the enrollment becomes `completed` (concluded). */
  concludeEnrollment(args: EnrollmentRef): Enrollment;
  /**
   * World change: any enrollment field (state, role, dates…). Picked by `enrollmentId`, `type`
   * is set too (a teacher becomes a student); picked by user + course, `type` narrows the pick.
   */
  updateEnrollment(args: EnrollmentRef & Partial<Omit<Enrollment, 'id' | 'userId' | 'courseId'>>): Enrollment;
  /** World change: moves the enrollment to another section of the same course. */
  moveEnrollment(args: EnrollmentRef & { sectionId: string }): Enrollment;
  /**
   * World change: course name, code, dates, term, account, published state
   * (`published: true` → `available`, `false` → `claimed`) or any workflow state.
   */
  updateCourse(args: { courseId: string; published?: boolean } & Partial<Omit<Course, 'id'>>): Course;
  /** World change: assignment fields (published, postManually, deleted, name…). */
  updateAssignment(args: { assignmentId: string } & Partial<Omit<Assignment, 'id' | 'courseId'>>): Assignment;
  /** "Post grades" for an assignment under a manual post policy. Returns submissions posted. */
  postGrades(args: { assignmentId: string }): number;
  /** Finishes every queued background job (bulk grade updates) now. Returns how many. */
  runJobs(): number;
  handleHttp(req: Request, res: Response, method: string): Promise<void>;
}

const HTTP_METHODS = [
  'setKey',
  'addScopes',
  'removeScopes',
  'revokeTokens',
  'expireTokens',
  'suspendUser',
  'setPermissions',
  'configure',
  'injectFault',
  'clearFaults',
  'counters',
  'resetCounters',
  'resetThrottle',
  'activeTokens',
  'addUser',
  'enroll',
  'dropEnrollment',
  'concludeEnrollment',
  'updateEnrollment',
  'moveEnrollment',
  'updateCourse',
  'updateAssignment',
  'postGrades',
  'runJobs',
] as const;

const nextId = (ids: string[]) => String(ids.reduce((m, id) => Math.max(m, Number(id) || 0), 0) + 1);

export function createControl(state: SandboxState): SandboxControl {
  function key(keyId?: string): DeveloperKey {
    const k = keyId ? state.findKey(keyId) : state.world.developerKeys[0];
    if (!k) throw new Error(`unknown developer key ${keyId ?? '(none in world)'}`);
    return k;
  }
  function enrollment(ref: EnrollmentRef): Enrollment {
    const e = ref.enrollmentId
      ? state.world.enrollments.find((x) => x.id === ref.enrollmentId)
      : state.world.enrollments.find(
          (x) => x.userId === ref.userId && x.courseId === ref.courseId && (!ref.type || x.type === ref.type) && x.state !== 'deleted',
        );
    if (!e) throw new Error(`no enrollment matches ${JSON.stringify(ref)}`);
    return e;
  }
  const matching = (args: { userId?: string; keyId?: string } = {}) =>
    state.tokens.filter((t) => t.state === 'active' && (!args.userId || t.userId === args.userId) && (!args.keyId || t.keyId === key(args.keyId).id));

  const control: SandboxControl = {
    setKey({ keyId, ...fields }) {
      const k = key(keyId);
      const removed = fields.scopes ? k.scopes.filter((s) => !fields.scopes!.includes(s)) : [];
      Object.assign(k, fields);
      if (removed.length) for (const t of matching({ keyId: k.id })) state.deleteToken(t);
      return k;
    },
    addScopes({ keyId, scopes }) {
      const k = key(keyId);
      k.scopes = [...new Set([...k.scopes, ...scopes])];
      return k;
    },
    removeScopes({ keyId, scopes }) {
      const k = key(keyId);
      k.scopes = k.scopes.filter((s) => !scopes.includes(s));
      const tokens = matching({ keyId: k.id });
      for (const t of tokens) state.deleteToken(t);
      return tokens.length;
    },
    revokeTokens(args) {
      const tokens = matching(args);
      for (const t of tokens) state.deleteToken(t);
      return tokens.length;
    },
    expireTokens(args) {
      const tokens = matching(args);
      for (const t of tokens) t.expiresAt = state.now() - 1;
      return tokens.length;
    },
    suspendUser({ userId, suspended = true }) {
      const u = state.user(userId);
      if (!u) throw new Error(`unknown user ${userId}`);
      u.suspended = suspended;
    },
    setPermissions({ userId, permissions }) {
      const u = state.user(userId);
      if (!u) throw new Error(`unknown user ${userId}`);
      u.admin ??= { accountId: state.world.rootAccountId, role: 'Account Admin', permissions: {} };
      u.admin.permissions = { ...u.admin.permissions, ...permissions };
    },
    configure({ throttle, ...rest }) {
      Object.assign(state.settings, rest);
      if (throttle) state.settings.throttle = { ...state.settings.throttle, ...throttle };
      return state.settings;
    },
    injectFault({ path, method, kind, count = 1, afterApplying }) {
      new RegExp(path);
      state.faults.push({ path, method: method?.toUpperCase(), kind, remaining: count, ...(afterApplying ? { afterApplying: true } : {}) });
    },
    clearFaults() {
      state.faults = [];
    },
    counters() {
      runDueJobs(state);
      return structuredClone(state.counters);
    },
    resetCounters() {
      const inFlight = state.counters.inFlight;
      state.counters = { ...emptyCounters(), inFlight, peakConcurrency: inFlight };
    },
    resetThrottle() {
      state.buckets.reset();
    },
    activeTokens(args) {
      return matching(args).map((t) => ({ id: t.id, userId: t.userId, keyId: t.keyId, scopes: t.scopes }));
    },
    addUser(args) {
      const id = args.id ?? nextId(state.world.users.map((u) => u.id));
      if (state.user(id)) throw new Error(`user ${id} exists`);
      const parts = args.name.split(' ');
      const last = parts.length > 1 ? parts.pop()! : args.name;
      const u: User = {
        sortableName: parts.length ? `${last}, ${parts.join(' ')}` : last,
        loginId: `user${id}`,
        password: 'password',
        ...args,
        id,
      };
      state.world.users.push(u);
      return u;
    },
    enroll({ userId, courseId, sectionId, type = 'StudentEnrollment', state: st = 'active', role, startAt, endAt }) {
      if (!state.user(userId)) throw new Error(`unknown user ${userId}`);
      const section = sectionId
        ? state.world.sections.find((s) => s.id === sectionId)
        : state.world.sections.find((s) => s.courseId === courseId && !s.deleted);
      if (!section || (courseId && section.courseId !== courseId)) throw new Error(`unknown section ${sectionId ?? `of course ${courseId}`}`);
      const e: Enrollment = {
        id: nextId(state.world.enrollments.map((x) => x.id)),
        userId,
        courseId: section.courseId,
        sectionId: section.id,
        type,
        role: role ?? type,
        state: st,
        ...(startAt !== undefined ? { startAt } : {}),
        ...(endAt !== undefined ? { endAt } : {}),
      };
      state.world.enrollments.push(e);
      return e;
    },
    dropEnrollment(ref) {
      const e = enrollment(ref);
      e.state = 'deleted';
      return e;
    },
    concludeEnrollment(ref) {
      const e = enrollment(ref);
      e.state = 'completed';
      return e;
    },
    updateEnrollment({ enrollmentId, userId, courseId, type, ...fields }) {
      // Picked by id, `type` is a field to set (a teacher made a student); else it narrows the pick.
      const e = enrollment(enrollmentId ? { enrollmentId } : { userId, courseId, type });
      Object.assign(e, fields, enrollmentId && type ? { type } : {});
      return e;
    },
    moveEnrollment({ sectionId, ...ref }) {
      const e = enrollment(ref);
      const section = state.world.sections.find((s) => s.id === sectionId);
      if (!section || section.courseId !== e.courseId) throw new Error(`section ${sectionId} is not a section of course ${e.courseId}`);
      e.sectionId = section.id;
      return e;
    },
    updateCourse({ courseId, published, ...fields }) {
      const c = state.world.courses.find((x) => x.id === courseId);
      if (!c) throw new Error(`unknown course ${courseId}`);
      Object.assign(c, fields);
      if (published !== undefined) c.workflowState = published ? 'available' : 'claimed';
      return c;
    },
    updateAssignment({ assignmentId, ...fields }) {
      const a = state.world.assignments?.find((x) => x.id === assignmentId);
      if (!a) throw new Error(`unknown assignment ${assignmentId}`);
      Object.assign(a, fields);
      return a;
    },
    postGrades({ assignmentId }) {
      if (!state.world.assignments?.some((x) => x.id === assignmentId)) throw new Error(`unknown assignment ${assignmentId}`);
      return postGrades(state, assignmentId);
    },
    runJobs() {
      return runAllJobs(state);
    },
    async handleHttp(req, res, method) {
      const fn = (HTTP_METHODS as readonly string[]).includes(method) ? method : undefined;
      if (!fn) {
        res.status(404).json({ error: `unknown control method ${method}` });
        return;
      }
      let args: unknown = undefined;
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          args = raw ? JSON.parse(raw) : undefined;
        } catch {
          res.status(400).json({ error: 'body must be JSON' });
          return;
        }
      }
      try {
        const result = (control as unknown as Record<string, (a: unknown) => unknown>)[fn]!(args ?? {});
        res.status(200).json({ result: result ?? null });
      } catch (err) {
        res.status(400).json({ error: (err as Error).message });
      }
    },
  };
  return control;
}
