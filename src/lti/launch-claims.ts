/**
 * Reads what a validated Canvas LTI 1.3 launch says about who is launching and from where, and
 * decides what they get. Pure: works on what ltijs kept of the validated id_token.
 */

const ADMIN_ROLES = new Set([
  'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator',
  'http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator',
  'http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin',
]);
/** Course-level roles that may see the read-only course page. TAs are included: they proctor exams. */
const INSTRUCTOR_ROLES = new Set([
  'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant',
  'http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant',
]);

/** The custom fields our tool configuration asks Canvas to substitute (see tool-config.ts). */
export const CUSTOM_FIELDS = {
  canvas_user_id: '$Canvas.user.id',
  canvas_course_id: '$Canvas.course.id',
  canvas_account_id: '$Canvas.account.id',
  canvas_membership_roles: '$Canvas.membership.roles',
} as const;

/** Placements we configure; each sets `cc_placement` so the launch knows where it came from. */
export const PLACEMENTS = ['account_navigation', 'course_navigation'] as const;

export type LaunchAudience =
  | { kind: 'admin'; accountId: string | null }
  | { kind: 'instructor'; courseId: string; courseTitle: string | null }
  | { kind: 'student'; reason: 'learner' | 'no_course' | 'no_admin_role' };

export interface LaunchFacts {
  sub: string;
  name: string | null;
  roles: string[];
  placement: string | null;
  deploymentId: string | null;
  canvasUserId: string | null;
  canvasCourseId: string | null;
  canvasAccountId: string | null;
  canvasMembershipRoles: string | null;
  contextTitle: string | null;
  nrpsUrl: string | null;
}

/** A custom value Canvas could not substitute comes back as the literal `$Canvas...` variable. */
function customValue(custom: Record<string, unknown> | undefined, key: string): string | null {
  const v = custom?.[key];
  if (v === undefined || v === null) return null;
  const s = String(v).trim();
  return s === '' || s.startsWith('$') ? null : s;
}

/**
 * The parts of a validated launch ltijs keeps (its `res.locals.token`): ltijs stores roles, custom,
 * context and the NRPS claim, but not Canvas's placement claim, so the placement comes from a
 * per-placement custom field (`cc_placement`) our tool configuration sets.
 */
export interface LtijsLaunchToken {
  iss: string;
  clientId: string;
  user: string;
  deploymentId?: string;
  userInfo?: { name?: string };
  platformContext?: {
    roles?: string[];
    custom?: Record<string, unknown>;
    context?: { id?: string; title?: string };
    namesRoles?: { context_memberships_url?: string };
  };
}

/** Extracts the facts we act on from a validated launch. */
export function launchFacts(token: LtijsLaunchToken): LaunchFacts {
  const pc = token.platformContext ?? {};
  const custom = pc.custom;
  return {
    sub: String(token.user ?? ''),
    name: typeof token.userInfo?.name === 'string' ? token.userInfo.name : null,
    roles: Array.isArray(pc.roles) ? pc.roles.map(String) : [],
    placement: customValue(custom, 'cc_placement'),
    deploymentId: typeof token.deploymentId === 'string' ? token.deploymentId : null,
    canvasUserId: customValue(custom, 'canvas_user_id'),
    canvasCourseId: customValue(custom, 'canvas_course_id'),
    canvasAccountId: customValue(custom, 'canvas_account_id'),
    canvasMembershipRoles: customValue(custom, 'canvas_membership_roles'),
    contextTitle: typeof pc.context?.title === 'string' ? pc.context.title : null,
    nrpsUrl: typeof pc.namesRoles?.context_memberships_url === 'string' ? pc.namesRoles.context_memberships_url : null,
  };
}

/** True for an account or site administrator (LIS institution/system roles, or Canvas's "Account Admin"). */
export function isAdministrator(roles: string[], canvasMembershipRoles: string | null): boolean {
  if (roles.some((r) => ADMIN_ROLES.has(r))) return true;
  return (canvasMembershipRoles ?? '')
    .split(',')
    .map((r) => r.trim().replace(/\s+/g, '').toLowerCase())
    .includes('accountadmin');
}

/**
 * Decides what a launch gets. Account navigation (or a launch without a course) is for admins only;
 * course navigation gives instructors, TAs and admins the read-only course page. Everyone else —
 * students, observers, an instructor opening account navigation — gets the polite "nothing here".
 * Note `institution/person#Instructor` means "teaches somewhere", not "teaches this course".
 */
export function decideAudience(facts: LaunchFacts): LaunchAudience {
  const admin = isAdministrator(facts.roles, facts.canvasMembershipRoles);
  const courseLaunch = facts.placement === 'course_navigation' || (facts.placement === null && facts.canvasCourseId !== null);
  if (!courseLaunch) {
    return admin ? { kind: 'admin', accountId: facts.canvasAccountId } : { kind: 'student', reason: 'no_admin_role' };
  }
  if (!facts.canvasCourseId) return { kind: 'student', reason: 'no_course' };
  if (admin || facts.roles.some((r) => INSTRUCTOR_ROLES.has(r))) {
    return { kind: 'instructor', courseId: facts.canvasCourseId, courseTitle: facts.contextTitle };
  }
  return { kind: 'student', reason: 'learner' };
}

