import type { RosterPerson } from './classify.js';
import { ROSTER_REASON_HELP, type ReasonHelp, type RosterReason } from './sync-reasons.js';

/** Canvas's built-in role names in words. */
const BUILT_IN_ROLE_WORDS: Record<string, string> = {
  StudentEnrollment: 'Student',
  TeacherEnrollment: 'Teacher',
  TaEnrollment: 'TA',
  DesignerEnrollment: 'Designer',
  ObserverEnrollment: 'Observer',
  StudentViewEnrollment: 'Test student (Student View)',
};

/** A custom role's name that reads like a student's (used only when Canvas's base role type is unknown). */
const STUDENT_LIKE_NAME = /student|learner|pupil|candidate|examinee|trainee|participant|attendee|apprentice/i;
const NOT_STUDENT_NAME = /teacher|instructor|\bta\b|assistant|observer|designer|grader|marker|parent|mentor|admin/i;

export interface RoleJudgement {
  /** The role looks like a student's: only then is "add it to Student roles" the advice. */
  studentLike: boolean;
  /** How that was decided: Canvas's base role type, or a guess from the role's name. */
  basis: 'base_role_type' | 'name';
}

/** A role name as a person reads it ("TeacherEnrollment" → "Teacher"; custom names unchanged). */
export function roleWords(role: string): string {
  return BUILT_IN_ROLE_WORDS[role] ?? role;
}

/**
 * Whether a person's roles look like a student's. With the enrollments' base types (kept since
 * each sync reads them) a custom role based on StudentEnrollment counts and a teacher, TA,
 * designer, observer or the Student View test student does not. Rows synced before the base
 * types were kept fall back to the role name: built-in names by their type, custom names by
 * words such as "student", "learner" or "candidate" (and not "teacher", "assistant", "observer").
 */
export function judgeRoles(roles: string[], baseRoles: string[] | undefined): RoleJudgement {
  if (baseRoles && baseRoles.length > 0) return { studentLike: baseRoles.includes('StudentEnrollment'), basis: 'base_role_type' };
  const studentLike = roles.some((r) =>
    r in BUILT_IN_ROLE_WORDS ? r === 'StudentEnrollment' : STUDENT_LIKE_NAME.test(r) && !NOT_STUDENT_NAME.test(r),
  );
  return { studentLike, basis: 'name' };
}

/** Why a person is skipped, with the remedy that fits them (see {@link skipReasonHelp}). */
export interface SkipReasonHelp extends ReasonHelp {
  code: RosterReason;
  /** Set for `role_not_selected` when the role looks like a student's: the fix is the Student roles setting. */
  addToStudentRoles: boolean;
}

/**
 * Why a person is skipped, with advice that fits them, for the course page, the API and the CLI
 * alike: "add it to Student roles" only for a role that looks like a student's; a teacher, TA or
 * observer is told that nothing needs doing. Other reasons keep their own remedy.
 */
export function skipReasonHelp(person: Pick<RosterPerson, 'roles' | 'baseRoles' | 'reasons'>): SkipReasonHelp[] {
  return person.reasons.map((code) => {
    const help = ROSTER_REASON_HELP[code];
    if (code !== 'role_not_selected') return { code, title: help.title, remedy: help.remedy, addToStudentRoles: false };
    const names = person.roles.map(roleWords).join(', ') || 'no role';
    const judged = judgeRoles(person.roles, person.baseRoles);
    if (!judged.studentLike) {
      return { code, title: `${names} is not a student role`, remedy: 'Only people in a student role take exams, so nothing needs doing.', addToStudentRoles: false };
    }
    const why = judged.basis === 'base_role_type' ? 'Canvas says it is a student role' : 'its name reads like a student role';
    return {
      code,
      title: `${names} is not one of the Student roles chosen for this integration`,
      remedy: `${why[0]!.toUpperCase()}${why.slice(1)}: if people in it take exams, add it to Student roles on the Configure page, then sync the course again.`,
      addToStudentRoles: true,
    };
  });
}
