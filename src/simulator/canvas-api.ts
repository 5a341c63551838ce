import { permissionDenied, type ApiCaller } from './api-auth.js';
import { dateState, type DateState } from './enrollment-dates.js';
import { json, notFound, type SimRequest, type SimResponse } from './http-kit.js';
import { bookmarked, compareKeys, InvalidPageError, ordinal, type SortKey } from './pagination.js';
import { list, str } from './rails-params.js';
import type { SandboxState } from './sandbox-state.js';
import {
  accountChain,
  accountPermissions,
  courseRights,
  EPOCH,
  indexOf,
  userJson,
  visibilityFor,
} from './visibility.js';
import { BUILT_IN_ROLES, PERMISSION_NAMES, type Account, type Course, type Enrollment, type Section, type User } from './world.js';

/**
 * The REST endpoints roster sync needs, answering with Canvas's field sets,
 * permission gates and pagination styles.
 */

export interface ApiContext {
  req: SimRequest;
  state: SandboxState;
  caller: ApiCaller;
}

export type ApiHandler = (ctx: ApiContext) => SimResponse;

function withLink(body: unknown, link: string): SimResponse {
  return json(200, body, { Link: link });
}

function includes(ctx: ApiContext): string[] {
  return list(ctx.req.params, 'include') ?? list(ctx.req.params, 'includes') ?? [];
}

function resolveAccount(ctx: ApiContext, id: string | undefined): Account | undefined {
  const world = ctx.state.world;
  if (id === 'self' || id === 'default') return indexOf(world).accounts.get(world.rootAccountId);
  if (id?.startsWith('sis_account_id:')) return world.accounts.find((a) => a.sisAccountId && a.sisAccountId === id.slice(15));
  return id ? indexOf(world).accounts.get(id) : undefined;
}

/** Numeric id, `sis_course_id:X` or `sis_integration_id:X`; deleted courses are not found. */
function resolveCourse(ctx: ApiContext, id: string | undefined): Course | undefined {
  const world = ctx.state.world;
  let c: Course | undefined;
  if (id?.startsWith('sis_course_id:')) c = world.courses.find((x) => x.sisCourseId === id.slice(14) && x.workflowState !== 'deleted');
  else if (id?.startsWith('sis_integration_id:')) c = world.courses.find((x) => x.integrationId === id.slice(19) && x.workflowState !== 'deleted');
  else if (id && /^\d+$/.test(id)) c = indexOf(world).courses.get(id);
  return c && c.workflowState !== 'deleted' ? c : undefined;
}

function resolveSection(ctx: ApiContext, id: string | undefined): Section | undefined {
  const world = ctx.state.world;
  if (id?.startsWith('sis_section_id:')) return world.sections.find((s) => s.sisSectionId === id.slice(15) && !s.deleted);
  if (id?.startsWith('sis_integration_id:')) return world.sections.find((s) => s.integrationId === id.slice(19) && !s.deleted);
  const s = id ? indexOf(world).sections.get(id) : undefined;
  return s && !s.deleted ? s : undefined;
}

function resolveUser(ctx: ApiContext, id: string | undefined): User | undefined {
  const world = ctx.state.world;
  if (id === 'self') return ctx.caller.user;
  if (id?.startsWith('sis_user_id:')) return world.users.find((u) => u.sisUserId === id.slice(12));
  if (id?.startsWith('sis_login_id:')) return world.users.find((u) => u.loginId.toLowerCase() === id.slice(13).toLowerCase());
  return id ? ctx.state.user(id) : undefined;
}

function accountJson(ctx: ApiContext, a: Account): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: Number(a.id),
    name: a.name,
    workflow_state: 'active',
    parent_account_id: a.parentAccountId === null ? null : Number(a.parentAccountId),
    root_account_id: a.parentAccountId === null ? null : Number(ctx.state.world.rootAccountId),
    uuid: `sandbox-account-${a.id}`,
    default_storage_quota_mb: 500,
    default_user_storage_quota_mb: 50,
    default_group_storage_quota_mb: 50,
    default_time_zone: 'America/Denver',
  };
  if (accountPermissions(ctx.state.world, ctx.caller.user, a.id)?.read_sis) {
    out['sis_account_id'] = a.sisAccountId ?? null;
    out['integration_id'] = a.integrationId ?? null;
  }
  return out;
}

/** GET /api/v1/users/:id (and self). Canvas's exact api_show field set is not known. */
export const showUser: ApiHandler = (ctx) => {
  const { caller, state } = ctx;
  const user = resolveUser(ctx, ctx.req.pathParams['id']);
  if (!user) return notFound();
  const self = user.id === caller.user.id;
  const admin = accountPermissions(state.world, caller.user, state.world.rootAccountId);
  if (!self && !admin) return permissionDenied(state);
  const perms = admin ?? { read_sis: false, view_user_logins: false };
  const vis = { sis: Boolean(perms.read_sis), login: self || Boolean(perms.view_user_logins), email: false };
  const out = userJson(user, vis);
  out['avatar_url'] = `${ctx.req.origin}/images/messages/avatar-50.png`;
  out['locale'] = null;
  out['effective_locale'] = 'en';
  if (self) out['permissions'] = { can_update_name: true, can_update_avatar: true, limit_parent_app_web_access: false };
  return json(200, out);
};

/** GET /api/v1/accounts — accounts the caller administers; `[]` for everyone else. */
export const listAccounts: ApiHandler = (ctx) => {
  const admin = ctx.caller.user.admin;
  const accounts = admin ? ctx.state.world.accounts.filter((a) => a.id === admin.accountId) : [];
  const page = ordinal(ctx.req, accounts, true);
  return withLink(page.items.map((a) => accountJson(ctx, a)), page.link);
};

/** GET /api/v1/accounts/:account_id */
export const showAccount: ApiHandler = (ctx) => {
  const a = resolveAccount(ctx, ctx.req.pathParams['account_id']);
  if (!a) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, a.id)) return permissionDenied(ctx.state);
  const out = accountJson(ctx, a);
  // Canvas's account_json adds lti_guid on request; the OpenID configuration's account_lti_guid is the same value.
  if (includes(ctx).includes('lti_guid')) out['lti_guid'] = sandboxLtiGuid(a.id);
  return json(200, out);
};

/** The sandbox's `lti_guid` of an account (Canvas: `<uuid>:<instance>`). */
export function sandboxLtiGuid(accountId: string): string {
  return `sandbox-account-${accountId}`;
}

function apiState(c: Course): string {
  return c.workflowState === 'created' || c.workflowState === 'claimed' ? 'unpublished' : c.workflowState;
}

const STUDENT_EXCLUDED = new Set(['rejected', 'completed', 'deleted', 'inactive']);

function totalStudents(ctx: ApiContext, courseId: string): number {
  const users = new Set<string>();
  for (const e of indexOf(ctx.state.world).enrollmentsByCourse.get(courseId) ?? []) {
    if (e.type === 'StudentEnrollment' && !STUDENT_EXCLUDED.has(e.state)) users.add(e.userId);
  }
  return users.size;
}

function courseJson(ctx: ApiContext, c: Course, readSis: boolean, inc: string[]): Record<string, unknown> {
  const world = ctx.state.world;
  const out: Record<string, unknown> = {
    id: Number(c.id),
    name: c.name,
    account_id: Number(c.accountId),
    uuid: `sandbox-course-${c.id}`,
    start_at: c.startAt ?? null,
    grading_standard_id: null,
    is_public: false,
    created_at: c.createdAt ?? EPOCH,
    course_code: c.courseCode,
    default_view: 'modules',
    root_account_id: Number(world.rootAccountId),
    enrollment_term_id: Number(c.termId ?? '1'),
    license: 'private',
    end_at: c.endAt ?? null,
    public_syllabus: false,
    public_syllabus_to_auth: false,
    storage_quota_mb: 500,
    is_public_to_auth_users: false,
    apply_assignment_group_weights: false,
    calendar: { ics: `${ctx.req.origin}/feeds/calendars/course_sandbox${c.id}.ics` },
    time_zone: 'America/Denver',
    blueprint: false,
    template: false,
    hide_final_grades: false,
    workflow_state: apiState(c),
    restrict_enrollments_to_course_dates: Boolean(c.restrictEnrollmentsToCourseDates),
    course_format: c.courseFormat ?? null,
  };
  if (readSis) {
    out['sis_course_id'] = c.sisCourseId ?? null;
    out['integration_id'] = c.integrationId ?? null;
  }
  if (inc.includes('total_students')) out['total_students'] = totalStudents(ctx, c.id);
  if (inc.includes('term')) {
    const t = world.terms.find((x) => x.id === (c.termId ?? '1'));
    const term: Record<string, unknown> = {
      id: Number(c.termId ?? '1'),
      name: t?.name ?? 'Default Term',
      start_at: t?.startAt ?? null,
      end_at: t?.endAt ?? null,
      created_at: EPOCH,
      workflow_state: t?.workflowState ?? 'active',
      grading_period_group_id: null,
    };
    if (accountPermissions(world, ctx.caller.user, world.rootAccountId)?.read_sis) term['sis_term_id'] = t?.sisTermId ?? null;
    out['term'] = term;
  }
  const account = indexOf(world).accounts.get(c.accountId);
  if (inc.includes('account') && account) out['account'] = accountJson(ctx, account);
  if (inc.includes('subaccount')) {
    out['subaccount_id'] = Number(c.accountId);
    out['subaccount_name'] = account?.name ?? null;
  }
  if (inc.includes('concluded')) out['concluded'] = c.workflowState === 'completed';
  if (inc.includes('account_name')) out['account_name'] = account?.name ?? null;
  return out;
}

const ACCOUNT_COURSE_STATES = ['created', 'claimed', 'available', 'completed', 'deleted'];

/** GET /api/v1/accounts/:account_id/courses — ordinal without `last`. */
export const accountCourses: ApiHandler = (ctx) => {
  const { state, req } = ctx;
  const account = resolveAccount(ctx, req.pathParams['account_id']);
  if (!account) return notFound();
  const perms = accountPermissions(state.world, ctx.caller.user, account.id);
  if (!perms?.read_course_list) return permissionDenied(state);
  let states = list(req.params, 'state') ?? ['created', 'claimed', 'available', 'completed'];
  if (states.includes('all')) states = ACCOUNT_COURSE_STATES;
  const published = str(req.params, 'published');
  const search = str(req.params, 'search_term')?.toLowerCase();
  const inc = includes(ctx).filter((i) => !['permissions', 'sections', 'needs_grading_count', 'total_scores'].includes(i));
  const courses = state.world.courses
    .filter((c) => accountChain(state.world, c.accountId).includes(account.id))
    .filter((c) => states.includes(c.workflowState))
    .filter((c) => (published === 'true' ? c.workflowState === 'available' : published === 'false' ? c.workflowState !== 'available' : true))
    .filter((c) => !search || c.name.toLowerCase().includes(search) || c.courseCode.toLowerCase().includes(search) || c.id === search || (perms.read_sis && c.sisCourseId?.toLowerCase() === search))
    .sort((a, b) => Number(a.id) - Number(b.id));
  const page = ordinal(req, courses, false);
  return withLink(page.items.map((c) => courseJson(ctx, c, perms.read_sis, inc)), page.link);
};

/** GET /api/v1/courses/:id */
export const showCourse: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['id']);
  if (!course) return notFound();
  const rights = courseRights(ctx.state, ctx.caller.user, course);
  if (!rights.read) return permissionDenied(ctx.state);
  return json(200, courseJson(ctx, course, rights.perms.read_sis, includes(ctx)));
};

function sectionJson(ctx: ApiContext, s: Section, course: Course, readSis: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: Number(s.id),
    course_id: Number(s.courseId),
    name: s.name,
    start_at: s.startAt ?? null,
    end_at: s.endAt ?? null,
    created_at: EPOCH,
    restrict_enrollments_to_section_dates: Boolean(s.restrictEnrollmentsToSectionDates),
    nonxlist_course_id: null,
  };
  if (readSis) {
    out['sis_section_id'] = s.sisSectionId ?? null;
    out['sis_course_id'] = course.sisCourseId ?? null;
    out['integration_id'] = s.integrationId ?? null;
  }
  return out;
}

/** GET /api/v1/courses/:course_id/sections — ordinal with `last`, sorted by name then id. */
export const courseSections: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  if (!course) return notFound();
  const rights = courseRights(ctx.state, ctx.caller.user, course);
  if (!rights.read) return permissionDenied(ctx.state);
  const inc = rights.perms.read_roster ? includes(ctx) : [];
  const sections = (indexOf(ctx.state.world).sectionsByCourse.get(course.id) ?? [])
    .filter((s) => !s.deleted)
    .sort((a, b) => compareKeys([a.name.toLowerCase(), Number(a.id)], [b.name.toLowerCase(), Number(b.id)]));
  const all = str(ctx.req.params, 'all');
  const page = all ? { items: sections, link: '' } : ordinal(ctx.req, sections, true);
  const enrollments = indexOf(ctx.state.world).enrollmentsByCourse.get(course.id) ?? [];
  const body = page.items.map((s) => {
    const out = sectionJson(ctx, s, course, rights.perms.read_sis);
    const students = enrollments.filter((e) => e.sectionId === s.id && e.type === 'StudentEnrollment' && (e.state === 'active' || e.state === 'invited'));
    if (inc.includes('total_students')) out['total_students'] = students.length;
    if (inc.includes('students')) {
      const vis = visibilityFor(rights, inc);
      const users = students.map((e) => ctx.state.user(e.userId)).filter((u): u is User => u !== undefined);
      out['students'] = users.length ? users.map((u) => userJson(u, vis, { includes: inc })) : null;
    }
    return out;
  });
  return all ? json(200, body) : withLink(body, page.link);
};

const ALL_STATES_BUT = (excluded: string[]) => ['active', 'invited', 'creation_pending', 'inactive', 'completed', 'rejected', 'deleted'].filter((s) => !excluded.includes(s));

function enrollmentKey(ctx: ApiContext) {
  return (e: Enrollment): SortKey => [e.type, ctx.state.user(e.userId)?.sortableName ?? '', Number(e.id)];
}

function enrollmentJson(ctx: ApiContext, e: Enrollment, course: Course, rights: ReturnType<typeof courseRights>, inc: string[]): Record<string, unknown> {
  const world = ctx.state.world;
  const section = indexOf(world).sections.get(e.sectionId);
  const user = ctx.state.user(e.userId);
  const role = e.role === e.type ? BUILT_IN_ROLES.find((r) => r.label === e.type) : world.roles.find((r) => r.label === e.role);
  const out: Record<string, unknown> = {
    id: Number(e.id),
    user_id: Number(e.userId),
    course_id: Number(e.courseId),
    type: e.type,
    created_at: EPOCH,
    updated_at: EPOCH,
    associated_user_id: e.associatedUserId ? Number(e.associatedUserId) : null,
    start_at: e.startAt ?? null,
    end_at: e.endAt ?? null,
    course_section_id: Number(e.sectionId),
    root_account_id: Number(world.rootAccountId),
    limit_privileges_to_course_section: Boolean(e.limitSectionPrivileges),
    enrollment_state: section?.deleted ? 'deleted' : e.state,
    role: e.role,
    role_id: role ? Number(role.id) : null,
    last_activity_at: null,
    last_attended_at: null,
    total_activity_time: 0,
    html_url: `${ctx.req.origin}/courses/${e.courseId}/users/${e.userId}`,
  };
  if (!rights.perms.read_reports && e.userId !== ctx.caller.user.id) {
    delete out['last_activity_at'];
    delete out['last_attended_at'];
    delete out['total_activity_time'];
  }
  if (e.type === 'StudentEnrollment') {
    out['grades'] = { html_url: `${ctx.req.origin}/courses/${e.courseId}/grades/${e.userId}`, current_grade: null, current_score: null, final_grade: null, final_score: null };
  }
  if (rights.perms.read_sis) {
    out['sis_account_id'] = indexOf(world).accounts.get(course.accountId)?.sisAccountId ?? null;
    out['sis_course_id'] = course.sisCourseId ?? null;
    out['course_integration_id'] = course.integrationId ?? null;
    out['sis_section_id'] = section?.sisSectionId ?? null;
    out['section_integration_id'] = section?.integrationId ?? null;
    out['sis_user_id'] = user?.sisUserId ?? null;
  }
  if (user) {
    const userInc = inc.filter((i) => ['avatar_url', 'group_ids', 'uuid', 'email'].includes(i));
    out['user'] = userJson(user, visibilityFor(rights, userInc), { includes: userInc });
  }
  return out;
}

function enrollmentsFor(ctx: ApiContext, course: Course, sectionId?: string): SimResponse {
  const { req, state } = ctx;
  const rights = courseRights(state, ctx.caller.user, course);
  if (!rights.perms.read_roster) return permissionDenied(state);
  const states = list(req.params, 'state') ?? (rights.readAsAdmin ? ALL_STATES_BUT(['rejected', 'completed', 'deleted']) : ALL_STATES_BUT(['rejected', 'completed', 'deleted', 'inactive']));
  const roles = list(req.params, 'role');
  if (roles) {
    const known = new Set([...BUILT_IN_ROLES.map((r) => r.label), ...state.world.roles.map((r) => r.label)]);
    // Canvas raises ActionController::BadRequest "role not found" (400); its body is not known.
    if (roles.some((r) => !known.has(r))) return json(400, { errors: [{ message: 'role not found' }] });
  }
  const types = roles ? undefined : list(req.params, 'type');
  const keyOf = enrollmentKey(ctx);
  const rows = (indexOf(state.world).enrollmentsByCourse.get(course.id) ?? [])
    .filter((e) => !sectionId || e.sectionId === sectionId)
    .filter((e) => states.includes(e.state))
    .filter((e) => (roles ? roles.includes(e.role) : types ? types.includes(e.type) : true))
    .map((e) => ({ e, k: keyOf(e) }))
    .sort((a, b) => compareKeys(a.k, b.k));
  try {
    const page = bookmarked(req, rows, (r) => r.k);
    const inc = includes(ctx);
    return withLink(page.items.map((r) => enrollmentJson(ctx, r.e, course, rights, inc)), page.link);
  } catch (err) {
    // BookmarkedCollection::InvalidPage: Canvas's status is not known; the sandbox answers 400.
    if (err instanceof InvalidPageError) return json(400, { errors: [{ message: 'invalid page' }] });
    throw err;
  }
}

/** GET /api/v1/courses/:course_id/enrollments — bookmark pagination. */
export const courseEnrollments: ApiHandler = (ctx) => {
  const course = resolveCourse(ctx, ctx.req.pathParams['course_id']);
  return course ? enrollmentsFor(ctx, course) : notFound();
};

/** GET /api/v1/sections/:section_id/enrollments */
export const sectionEnrollments: ApiHandler = (ctx) => {
  const section = resolveSection(ctx, ctx.req.pathParams['section_id']);
  const course = section ? resolveCourse(ctx, section.courseId) : undefined;
  return section && course ? enrollmentsFor(ctx, course, section.id) : notFound();
};

const TYPE_BY_SHORT: Record<string, string> = {
  student: 'StudentEnrollment',
  teacher: 'TeacherEnrollment',
  ta: 'TaEnrollment',
  designer: 'DesignerEnrollment',
  observer: 'ObserverEnrollment',
};

/** GET /api/v1/courses/:course_id/users — ordinal without `last`. */
export const courseUsers: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const course = resolveCourse(ctx, req.pathParams['course_id']);
  if (!course) return notFound();
  const rights = courseRights(state, ctx.caller.user, course);
  if (!rights.perms.read_roster) return permissionDenied(state);
  const states = list(req.params, 'enrollment_state') ?? ['active', 'invited', ...(str(req.params, 'include_inactive') === 'true' && rights.readAsAdmin ? ['inactive'] : [])];
  const types = list(req.params, 'enrollment_type')?.map((t) => TYPE_BY_SHORT[t] ?? t);
  const matching = (indexOf(state.world).enrollmentsByCourse.get(course.id) ?? []).filter(
    (e) => states.includes(e.state) && (!types || types.includes(e.type)),
  );
  const byUser = new Map<string, Enrollment[]>();
  for (const e of matching) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
  const users = [...byUser.keys()]
    .map((id) => state.user(id))
    .filter((u): u is User => u !== undefined)
    .sort((a, b) => compareKeys([a.sortableName, Number(a.id)], [b.sortableName, Number(b.id)]));
  const page = ordinal(req, users, false);
  // Canvas always adds sis_user_id and email to the includes; both stay permission-gated.
  const inc = [...includes(ctx), 'email'];
  const vis = visibilityFor(rights, inc);
  const body = page.items.map((u) => {
    const all = (indexOf(state.world).enrollmentsByCourse.get(course.id) ?? []).filter((e) => e.userId === u.id);
    const unconfirmed = all.every((e) => ['invited', 'creation_pending', 'rejected'].includes(e.state));
    const out = userJson(u, vis, { excludePersonal: unconfirmed, includes: inc });
    if (inc.includes('enrollments')) out['enrollments'] = (byUser.get(u.id) ?? []).map((e) => enrollmentJson(ctx, e, course, rights, []));
    return out;
  });
  return withLink(body, page.link);
};

/** GET /api/v1/accounts/:account_id/roles */
export const accountRoles: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const account = resolveAccount(ctx, req.pathParams['account_id']);
  if (!account) return notFound();
  if (!accountPermissions(state.world, ctx.caller.user, account.id)) return permissionDenied(state);
  const wanted = list(req.params, 'state') ?? ['active'];
  const accountRef = {
    id: Number(account.id),
    name: account.name,
    parent_account_id: account.parentAccountId === null ? null : Number(account.parentAccountId),
    root_account_id: Number(state.world.rootAccountId),
    sis_account_id: account.sisAccountId ?? null,
  };
  const builtIn = BUILT_IN_ROLES.map((r) => ({
    id: Number(r.id),
    role: r.label,
    label: r.baseRoleType === 'AccountMembership' ? r.label : r.label.replace('Enrollment', ''),
    base_role_type: r.baseRoleType,
    is_account_role: r.baseRoleType === 'AccountMembership',
    workflow_state: 'built_in',
    created_at: EPOCH,
    last_updated_at: EPOCH,
    account: accountRef,
    permissions: {},
  }));
  const chain = str(req.params, 'show_inherited') === 'true' ? accountChain(state.world, account.id) : [account.id];
  const custom = state.world.roles
    .filter((r) => chain.includes(r.accountId) && wanted.includes(r.workflowState))
    .map((r) => ({
      id: Number(r.id),
      role: r.label,
      label: r.label,
      base_role_type: r.baseRoleType,
      is_account_role: r.baseRoleType === 'AccountMembership',
      workflow_state: r.workflowState,
      created_at: EPOCH,
      last_updated_at: EPOCH,
      account: accountRef,
      permissions: {},
    }));
  const page = ordinal(req, [...(wanted.includes('active') ? builtIn : []), ...custom], true);
  return withLink(page.items, page.link);
};

/** GET /api/v1/accounts/:account_id/permissions?permissions[]=… → `{"read_sis": true, ...}` */
export const accountPermissionsCheck: ApiHandler = (ctx) => {
  const account = resolveAccount(ctx, ctx.req.pathParams['account_id']);
  if (!account) return notFound();
  const perms = accountPermissions(ctx.state.world, ctx.caller.user, account.id);
  const out: Record<string, boolean> = {};
  for (const p of list(ctx.req.params, 'permissions') ?? []) {
    out[p] = perms !== undefined && (PERMISSION_NAMES as readonly string[]).includes(p) ? Boolean(perms[p as keyof typeof perms]) : false;
  }
  return json(200, out);
};

const SHORT_TYPE: Record<Enrollment['type'], string> = {
  StudentEnrollment: 'student',
  TeacherEnrollment: 'teacher',
  TaEnrollment: 'ta',
  DesignerEnrollment: 'designer',
  ObserverEnrollment: 'observer',
};

function roleId(ctx: ApiContext, e: Enrollment): number | null {
  const role = e.role === e.type ? BUILT_IN_ROLES.find((r) => r.label === e.type) : ctx.state.world.roles.find((r) => r.label === e.role);
  return role ? Number(role.id) : null;
}

/** The caller's own courses list: "current and invited" by default (future student enrollments are not current). */
const COURSE_LIST_STATES: Record<string, DateState[]> = {
  default: ['active', 'invited', 'creation_pending', 'pending_invited'],
  active: ['active'],
  invited_or_pending: ['invited', 'creation_pending', 'pending_invited', 'pending_active'],
  completed: ['completed'],
};

/**
 * GET /api/v1/courses — the caller's courses. Each carries an `enrollments` array in the Course
 * JSON shape: `type` is the lower-case SIS type (`student`, `teacher`…), `role` the role name,
 * `enrollment_state` the raw workflow state.
 */
export const listCourses: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const world = state.world;
  const now = state.now();
  const wantedStates = COURSE_LIST_STATES[str(req.params, 'enrollment_state') ?? 'default'] ?? COURSE_LIST_STATES['default']!;
  const wantedType = str(req.params, 'enrollment_type');
  const courseStates = list(req.params, 'state');
  const own = world.enrollments.filter(
    (e) => e.userId === ctx.caller.user.id && wantedStates.includes(dateState(world, e, now)) && (!wantedType || SHORT_TYPE[e.type] === wantedType),
  );
  const byCourse = new Map<string, Enrollment[]>();
  for (const e of own) byCourse.set(e.courseId, [...(byCourse.get(e.courseId) ?? []), e]);
  const courses = [...byCourse.keys()]
    .map((id) => indexOf(world).courses.get(id))
    .filter((c): c is Course => c !== undefined && c.workflowState !== 'deleted')
    .filter((c) => {
      const staff = (byCourse.get(c.id) ?? []).some((e) => e.type !== 'StudentEnrollment' && e.type !== 'ObserverEnrollment');
      if (courseStates) return courseStates.includes(apiState(c));
      return staff || (c.workflowState !== 'created' && c.workflowState !== 'claimed');
    })
    .sort((a, b) => Number(a.id) - Number(b.id));
  const page = ordinal(req, courses, true);
  const inc = includes(ctx);
  const body = page.items.map((c) => {
    const out = courseJson(ctx, c, courseRights(state, ctx.caller.user, c).perms.read_sis, inc);
    out['enrollments'] = (byCourse.get(c.id) ?? []).map((e) => {
      const row: Record<string, unknown> = {
        type: SHORT_TYPE[e.type],
        role: e.role,
        role_id: roleId(ctx, e),
        user_id: Number(e.userId),
        enrollment_state: e.state,
        limit_privileges_to_course_section: Boolean(e.limitSectionPrivileges),
      };
      if (e.type === 'ObserverEnrollment') row['associated_user_id'] = e.associatedUserId ? Number(e.associatedUserId) : null;
      return row;
    });
    return out;
  });
  return withLink(body, page.link);
};

const SELF_STATE_GROUPS: Record<string, DateState[]> = {
  current_and_invited: ['active', 'invited', 'creation_pending'],
  current_and_future: ['active', 'invited', 'creation_pending', 'pending_active', 'pending_invited'],
  current_and_concluded: ['active', 'completed'],
};

/**
 * GET /api/v1/users/:user_id/enrollments. For the caller's own enrollments `state[]` matches the
 * date-based state (`pending_active`, date-`inactive` teachers, soft-`completed`…) and the default
 * leaves out date-completed ones; for anyone else it matches the workflow state. `enrollment_state`
 * in the JSON is always the workflow state.
 */
export const userEnrollments: ApiHandler = (ctx) => {
  const { req, state } = ctx;
  const world = state.world;
  const user = resolveUser(ctx, req.pathParams['user_id']);
  if (!user) return notFound();
  const self = user.id === ctx.caller.user.id;
  if (!self && !accountPermissions(world, ctx.caller.user, world.rootAccountId)?.read_roster) return permissionDenied(state);
  const now = state.now();
  const asked = list(req.params, 'state')?.flatMap((s) => SELF_STATE_GROUPS[s] ?? [s]);
  const types = list(req.params, 'type');
  const roles = list(req.params, 'role');
  const rows = world.enrollments
    .filter((e) => e.userId === user.id && e.state !== 'deleted')
    .filter((e) => {
      const current = self ? dateState(world, e, now) : e.state;
      if (asked) return asked.includes(current);
      return self ? current !== 'completed' : ['active', 'invited', 'creation_pending'].includes(current);
    })
    .filter((e) => (!types || types.includes(e.type)) && (!roles || roles.includes(e.role)))
    .filter((e) => indexOf(world).courses.get(e.courseId)?.workflowState !== 'deleted')
    .sort((a, b) => Number(a.id) - Number(b.id));
  const page = ordinal(req, rows, true);
  const body = page.items.map((e) => {
    const course = indexOf(world).courses.get(e.courseId)!;
    return enrollmentJson(ctx, e, course, courseRights(state, ctx.caller.user, course), []);
  });
  return withLink(body, page.link);
};

export { resolveAccount, resolveCourse, resolveUser, includes, withLink };
