import type { SandboxState } from './sandbox-state.js';
import { PERMISSION_NAMES, type Account, type AdminPermissions, type Course, type Enrollment, type User, type World } from './world.js';

/**
 * Who may see what: account-admin permissions (inherited by sub-accounts), course-level rights
 * from teacher/TA enrollments, and which user-JSON fields each permission reveals.
 */

const NONE: AdminPermissions = Object.fromEntries(PERMISSION_NAMES.map((p) => [p, false])) as unknown as AdminPermissions;

export interface WorldIndex {
  accounts: Map<string, Account>;
  courses: Map<string, Course>;
  enrollmentsByCourse: Map<string, Enrollment[]>;
  sectionsByCourse: Map<string, World['sections']>;
  sections: Map<string, World['sections'][number]>;
}

const cache = new WeakMap<World, { sizes: string; index: WorldIndex }>();

/**
 * Lookup maps, rebuilt when the world's collections change size. Records are shared with the
 * world, so editing a record in place (a state, a name) is seen at once.
 */
export function indexOf(world: World): WorldIndex {
  const sizes = `${world.accounts.length}/${world.courses.length}/${world.sections.length}/${world.enrollments.length}`;
  const hit = cache.get(world);
  if (hit && hit.sizes === sizes) return hit.index;
  const index: WorldIndex = {
    accounts: new Map(world.accounts.map((a) => [a.id, a])),
    courses: new Map(world.courses.map((c) => [c.id, c])),
    enrollmentsByCourse: new Map(),
    sectionsByCourse: new Map(),
    sections: new Map(world.sections.map((s) => [s.id, s])),
  };
  for (const e of world.enrollments) {
    const list = index.enrollmentsByCourse.get(e.courseId) ?? [];
    list.push(e);
    index.enrollmentsByCourse.set(e.courseId, list);
  }
  for (const s of world.sections) {
    const list = index.sectionsByCourse.get(s.courseId) ?? [];
    list.push(s);
    index.sectionsByCourse.set(s.courseId, list);
  }
  cache.set(world, { sizes, index });
  return index;
}

/** The account and its ancestors, nearest first. */
export function accountChain(world: World, accountId: string): string[] {
  const idx = indexOf(world);
  const chain: string[] = [];
  let cur: string | null | undefined = accountId;
  while (cur && !chain.includes(cur)) {
    chain.push(cur);
    cur = idx.accounts.get(cur)?.parentAccountId;
  }
  return chain;
}

/** Permissions of an account admin on `accountId` (admin of it or an ancestor), else none. */
export function accountPermissions(world: World, user: User, accountId: string): AdminPermissions | undefined {
  if (!user.admin || !accountChain(world, accountId).includes(user.admin.accountId)) return undefined;
  return { ...NONE, ...user.admin.permissions };
}

export interface CourseRights {
  perms: AdminPermissions;
  /** `:read_as_admin`: account admins, teachers, TAs, designers. */
  readAsAdmin: boolean;
  /** Can see the course at all (`:read`). */
  read: boolean;
  /** Account membership or a field-visibility permission ("admin-ish" in user_json). */
  adminish: boolean;
}

const STAFF_TYPES = new Set(['TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment']);

export function courseRights(state: SandboxState, user: User, course: Course): CourseRights {
  const admin = accountPermissions(state.world, user, course.accountId);
  if (admin) return { perms: admin, readAsAdmin: true, read: true, adminish: true };
  const own = (indexOf(state.world).enrollmentsByCourse.get(course.id) ?? []).filter(
    (e) => e.userId === user.id && e.state !== 'deleted' && e.state !== 'rejected',
  );
  const staff = own.some((e) => STAFF_TYPES.has(e.type) && e.state === 'active');
  if (staff) {
    const perms = { ...NONE, read_roster: true, read_sis: true, view_user_logins: true, read_email_addresses: true };
    return { perms, readAsAdmin: true, read: true, adminish: true };
  }
  return { perms: NONE, readAsAdmin: false, read: own.length > 0, adminish: false };
}

export interface UserVisibility {
  sis: boolean;
  login: boolean;
  email: boolean;
}

export function visibilityFor(rights: { perms: AdminPermissions; adminish: boolean }, includes: string[]): UserVisibility {
  return {
    sis: rights.adminish && rights.perms.read_sis,
    login: rights.adminish && rights.perms.view_user_logins,
    email: includes.includes('email') && rights.perms.read_email_addresses,
  };
}

const EPOCH = '2024-08-01T12:00:00Z';

/** `user_json`: base fields plus the permission-gated ones (SIS ids, login_id, email). */
export function userJson(user: User, vis: UserVisibility, opts: { excludePersonal?: boolean; includes?: string[] } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: Number(user.id),
    name: user.name,
    created_at: user.createdAt ?? EPOCH,
    sortable_name: user.sortableName,
    short_name: user.shortName ?? user.name,
  };
  if (vis.sis && !opts.excludePersonal) {
    out['sis_user_id'] = user.sisUserId ?? null;
    out['integration_id'] = user.integrationId ?? null;
  }
  if (vis.login && !opts.excludePersonal && user.loginId) out['login_id'] = user.loginId;
  if (vis.email && !opts.excludePersonal && user.email && user.emailConfirmed !== false) out['email'] = user.email;
  if (opts.includes?.includes('uuid')) out['uuid'] = `sandbox-user-${user.id}`;
  return out;
}

export { EPOCH };
