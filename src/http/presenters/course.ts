import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { LookupOutcome } from '../../sync/course-lookup.js';
import type { CourseView } from '../../sync/course-repository.js';

/** The API's course shape: exactly these fields. */
export function presentCourse(c: CourseView) {
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
  };
}

/** A course's sections, exam-takers and skipped people (with reasons) for the API. */
export function presentRoster(sections: Awaited<ReturnType<Container['sync']['courses']['getSections']>>, roster: Awaited<ReturnType<Container['sync']['courses']['getRoster']>>) {
  return {
    sections: sections.map((s) => ({ canvasId: s.canvasId, name: s.name, externalId: s.externalId, syncable: s.syncable, reasons: s.reasons })),
    examTakers: roster.filter((r) => r.examTaker).map((r) => ({ canvasUserId: r.canvasUserId, name: r.name, externalId: r.externalId, sectionIds: r.sectionIds })),
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
