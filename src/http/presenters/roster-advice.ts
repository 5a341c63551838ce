import type { RosterReason } from '../../sync/sync-reasons.js';
import { skipReasonHelp } from '../../sync/role-advice.js';

export { judgeRoles, roleWords, type RoleJudgement } from '../../sync/role-advice.js';

export interface SkipReasonView {
  code: RosterReason;
  title: string;
  remedy: string;
  /** Where the remedy is done, when it is done here. */
  link: { href: string; label: string } | null;
}

/**
 * Why a person is skipped, with advice that fits them (the sync layer's {@link skipReasonHelp},
 * the same the API and the CLI give), plus a link to the Student roles setting where that is the fix.
 */
export function presentSkipReasons(person: { roles: string[]; baseRoles?: string[]; reasons: RosterReason[] }, configureHref: string): SkipReasonView[] {
  return skipReasonHelp(person).map(({ code, title, remedy, addToStudentRoles }) => ({
    code,
    title,
    remedy,
    link: addToStudentRoles ? { href: configureHref, label: 'Configure › Student roles' } : null,
  }));
}
