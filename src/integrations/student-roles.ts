import { isCanvasApiError } from '../canvas/errors.js';
import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { reasonForCanvasFailure } from './canvas-failure-reason.js';
import type { Integration } from './integration.js';

/** The student roles Configure offers. `StudentEnrollment` (built in) is always first among them. */
export interface StudentRoleList {
  /** Role values as stored in `studentRoles`: `StudentEnrollment` or a custom role's label. */
  roles: string[];
  /**
   * The roles Configure offers as course admin roles: teacher, TA and designer based ones
   * (`TeacherEnrollment`, `TaEnrollment`, `DesignerEnrollment` or a custom role's label).
   */
  adminRoles: string[];
  /** Set when Canvas could not be read (then only the built-in role is listed); the Canvas reason when known. */
  readError: { reason: string | null } | null;
}

export interface StudentRoles {
  /** The account's student roles (built-in and custom) from Canvas; never throws for Canvas failures. */
  list(integration: Pick<Integration, 'id' | 'canvasUrl' | 'accountId'>): Promise<StudentRoleList>;
}

const ADMIN_BASES = ['TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment'];

/** Reads the student roles of an integration's Canvas account (`accounts.roles`, inherited included). */
export function createStudentRoles(deps: {
  clientFor: (i: Pick<Integration, 'canvasUrl'> & { id?: string }) => CanvasClient;
  tokenFor: (integrationId: string) => AccessTokenSource;
}): StudentRoles {
  return {
    async list(i) {
      try {
        const roles: string[] = [];
        const adminRoles: string[] = [];
        for await (const page of deps.clientFor(i).pages<Record<string, unknown>>(
          { endpoint: 'accounts.roles', path: { account_id: i.accountId }, query: { show_inherited: true } },
          deps.tokenFor(i.id),
        )) {
          for (const r of page) {
            const base = String(r.base_role_type ?? '');
            const value = r.workflow_state === 'built_in' ? base : String(r.label ?? r.role);
            if (base === 'StudentEnrollment') roles.push(value);
            else if (ADMIN_BASES.includes(base)) adminRoles.push(value);
          }
        }
        if (!roles.includes('StudentEnrollment')) roles.unshift('StudentEnrollment');
        if (!adminRoles.includes('TeacherEnrollment')) adminRoles.unshift('TeacherEnrollment');
        return { roles, adminRoles, readError: null };
      } catch (err) {
        return { roles: ['StudentEnrollment'], adminRoles: ['TeacherEnrollment'], readError: { reason: isCanvasApiError(err) ? (reasonForCanvasFailure(err) ?? err.kind) : null } };
      }
    },
  };
}
