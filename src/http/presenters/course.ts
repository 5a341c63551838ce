import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { LookupOutcome } from '../../sync/course-lookup.js';
import type { CourseSummary } from '../../sync/course-repository.js';
import { adminRoleOf } from '../../sync/classify.js';

/** The API's course shape: exactly these fields (a full `CourseView` has a few more, never presented here). */
export function presentCourse(c: CourseSummary) {
  return {
    canvasId: c.canvasId,
    name: c.name,
    courseCode: c.courseCode,
    sisCourseId: c.sisCourseId,
    integrationId: c.integrationId,
    externalId: c.externalId,
    published: c.published,
    syncable: c.syncable,
    reasons: c.reasons,
    term: c.term,
    startAt: c.startAt,
    endAt: c.endAt,
    department: c.department,
  };
}

/**
 * A course's sections, exam-takers, course admins and skipped people (with reasons) for the API.
 * `courseAdminRoles` (the integration's) names the role that made each admin one.
 */
export function presentRoster(
  sections: Awaited<ReturnType<Container['sync']['courses']['getSections']>>,
  roster: Awaited<ReturnType<Container['sync']['courses']['getRoster']>>,
  courseAdminRoles: readonly string[] = [],
) {
  return {
    sections: sections.map((s) => ({ canvasId: s.canvasId, name: s.name, externalId: s.externalId, syncable: s.syncable, reasons: s.reasons })),
    examTakers: roster
      .filter((r) => r.examTaker)
      .map((r) => ({ canvasUserId: r.canvasUserId, name: r.name, externalId: r.externalId, sectionIds: r.sectionIds, pendingUntil: r.pendingUntil })),
    courseAdmins: roster
      .filter((r) => r.courseAdmin)
      .map((r) => ({ canvasUserId: r.canvasUserId, name: r.name, externalId: r.externalId, role: adminRoleOf(r.roles, courseAdminRoles) ?? r.roles[0] ?? '' })),
    skipped: roster.filter((r) => !r.examTaker).map((r) => ({ canvasUserId: r.canvasUserId, name: r.name, role: r.roles[0] ?? '', reasons: r.reasons })),
  };
}

/**
 * A specific course refresh for the API.
 * @throws AppError not_found (with the remedy) when Canvas has no such course
 */
export function presentLookup(o: LookupOutcome) {
  if (!o.found) throw new AppError('not_found', o.title, { help: o.remedy, details: { reason: o.reason } });
  return {
    ...presentCourse(o.course),
    workflowState: o.course.workflowState,
    refreshedAt: o.course.refreshedAt,
    sections: o.sections.map((s) => ({ canvasId: s.canvasId, name: s.name, externalId: s.externalId, syncable: s.syncable, reasons: s.reasons })),
    explanations: o.explanations,
  };
}
