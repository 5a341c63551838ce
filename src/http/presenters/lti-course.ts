import type { MissingFromNrps } from '../../lti/nrps-compare.js';
import type { LtiCourseData } from '../../sync/lti-course-view.js';
import { COURSE_REASON_HELP, ROSTER_REASON_HELP } from '../../sync/sync-reasons.js';

const reasonTitle = (code: string) => ROSTER_REASON_HELP[code as keyof typeof ROSTER_REASON_HELP]?.title ?? code;

/** Why an exam-taker is not among Canvas's active learners, as the page says it. */
const MISSING_FROM_NRPS: Record<MissingFromNrps, string> = {
  not_in_member_list: 'not in Canvas’s member list: dropped from the course since the last sync, or not visible to the tool',
  inactive_in_canvas: 'Canvas lists the enrollment as no longer active (deactivated or concluded since the last sync)',
  not_a_learner_in_canvas: 'Canvas lists them in a role other than student',
};
const NOT_IN_ROSTER = 'not seen by the last roster sync: often hidden from the API user by permissions, or enrolled since';

/**
 * The instructor's LTI course page: who is an exam-taker, who is a course admin, who is skipped and why, and what NRPS
 * says. `launch.courseTitle` is the title Canvas sent with the launch (its context claim): the
 * page's title until a refresh has recorded the course.
 */
export function presentLtiCourse(d: LtiCourseData, launch: { courseTitle?: string | null } = {}) {
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
  const launchTitle = launch.courseTitle?.trim() || null;
  const nrps = d.nrps
    ? {
        ...d.nrps,
        onlyInNrps: d.nrps.onlyInNrps.map((m) => ({ ...m, whyText: NOT_IN_ROSTER })),
        onlyInRoster: d.nrps.onlyInRoster.map((m) => ({ ...m, whyText: MISSING_FROM_NRPS[m.why] })),
        skippedInRoster: d.nrps.skippedInRoster.map((m) => ({ ...m, reasonsText: m.reasons.map(reasonTitle).join('; ') })),
      }
    : null;
  return {
    title: course?.name ?? launchTitle ?? `Canvas course ${d.courseId}`,
    courseId: d.courseId,
    integrationName: d.integration.name,
    course: {
      known: Boolean(course),
      title: course?.name ?? launchTitle ?? `Canvas course ${d.courseId}`,
      syncable: course?.syncable ?? false,
      reasons: course ? course.reasons.map((code) => COURSE_REASON_HELP[code]?.title ?? code) : [],
    },
    sync: { lastSyncedAt: course?.lastSyncedAt ?? null, jobState: d.lastSyncJob?.state ?? null },
    examTakers: people.filter((p) => p.examTaker).map((p) => ({ name: p.name, externalId: p.externalId ?? '', sections: p.sections, pendingUntil: p.pendingUntil })),
    courseAdmins: people.filter((p) => p.courseAdmin).map((p) => ({ name: p.name, externalId: p.externalId ?? '', roles: p.roles })),
    skipped: people.filter((p) => !p.examTaker).map((p) => ({ name: p.name, roles: p.roles, reasons: p.reasons })),
    nrps,
  };
}
