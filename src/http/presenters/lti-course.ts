import type { LtiCourseData } from '../../sync/lti-course-view.js';
import { COURSE_REASON_HELP, ROSTER_REASON_HELP } from '../../sync/sync-reasons.js';

/** The instructor's LTI course page: who is an exam-taker, who is a course admin, who is skipped and why, and what NRPS says. */
export function presentLtiCourse(d: LtiCourseData) {
  const sectionName = new Map(d.sections.map((s) => [s.canvasId, s.name]));
  const people = d.roster.map((r) => ({
    name: r.name,
    externalId: r.externalId,
    examTaker: r.examTaker,
    courseAdmin: r.courseAdmin,
    pendingUntil: r.pendingUntil,
    roles: r.roles.join(', '),
    reasons: r.reasons.map((code) => ROSTER_REASON_HELP[code]?.title ?? code).join('; '),
    sections: r.sectionIds.map((id) => sectionName.get(id) ?? id).join(', '),
  }));
  const course = d.course;
  return {
    title: course?.name ?? 'Course',
    courseId: d.courseId,
    integrationName: d.integration.name,
    course: {
      known: Boolean(course),
      title: course?.name ?? `Canvas course ${d.courseId}`,
      syncable: course?.syncable ?? false,
      reasons: course ? course.reasons.map((code) => COURSE_REASON_HELP[code]?.title ?? code) : [],
    },
    sync: { lastSyncedAt: course?.lastSyncedAt ?? null, jobState: d.lastSyncJob?.state ?? null },
    examTakers: people.filter((p) => p.examTaker).map((p) => ({ name: p.name, externalId: p.externalId ?? '', sections: p.sections, pendingUntil: p.pendingUntil })),
    courseAdmins: people.filter((p) => p.courseAdmin).map((p) => ({ name: p.name, externalId: p.externalId ?? '', roles: p.roles })),
    skipped: people.filter((p) => !p.examTaker).map((p) => ({ name: p.name, roles: p.roles, reasons: p.reasons })),
    nrps: d.nrps,
  };
}
