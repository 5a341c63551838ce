import type { CourseRepository } from './course-repository.js';
import { skipReasonHelp } from './role-advice.js';
import { COURSE_REASON_HELP, SECTION_REASON_HELP, type ReasonHelp } from './sync-reasons.js';

export interface WhyAnswer {
  /** `syncable` / `exam_taker`: nothing is wrong; `not_seen`: no record from the last refresh/sync. */
  verdict: 'syncable' | 'not_syncable' | 'exam_taker' | 'skipped' | 'not_seen';
  reasons: Array<{ code: string } & ReasonHelp>;
  /** When the answer's data was fetched from Canvas. */
  asOf: string | null;
  detail: Record<string, unknown>;
}

const NOT_SEEN_COURSE: ReasonHelp = {
  title: 'The last refresh did not see this course',
  remedy:
    "Run the specific course refresh with the course's id or URL: it says whether the course is deleted, in another account, or new since the last refresh.",
};
const NOT_SEEN_PERSON: ReasonHelp = {
  title: 'The last sync of this course did not see this person',
  remedy: 'Sync the course again. If they are still missing, they have no enrollment in the course (or it was deleted or rejected).',
};

/**
 * "Why is course X missing?" and "Why is student Y not an exam-taker?" answered from the last
 * refresh/sync, with the exact reason codes and remedies (no Canvas call: it explains what the
 * product last saw; the answer says when).
 */
export function createDiagnostics(courses: CourseRepository) {
  return {
    async whyCourse(integrationId: string, canvasId: string): Promise<WhyAnswer> {
      const c = await courses.getCourse(integrationId, canvasId);
      if (!c) return { verdict: 'not_seen', reasons: [{ code: 'not_seen', ...NOT_SEEN_COURSE }], asOf: null, detail: { canvasId } };
      const sections = await courses.getSections(integrationId, canvasId);
      const badSections = sections.filter((s) => !s.syncable);
      return {
        verdict: c.syncable ? 'syncable' : 'not_syncable',
        reasons: c.reasons.map((r) => ({ code: r, ...COURSE_REASON_HELP[r] })),
        asOf: c.refreshedAt,
        detail: {
          canvasId: c.canvasId,
          name: c.name,
          externalId: c.externalId,
          workflowState: c.workflowState,
          sections: sections.length,
          sectionsNotSyncable: badSections.map((s) => ({
            canvasId: s.canvasId,
            name: s.name,
            reasons: s.reasons.map((r) => ({ code: r, ...SECTION_REASON_HELP[r] })),
          })),
        },
      };
    },

    async whyPerson(integrationId: string, courseId: string, userId: string): Promise<WhyAnswer> {
      const e = await courses.getRosterEntry(integrationId, courseId, userId);
      if (!e) {
        const course = await courses.getCourse(integrationId, courseId);
        return {
          verdict: 'not_seen',
          reasons: [{ code: 'not_seen', ...NOT_SEEN_PERSON }],
          asOf: course?.lastSyncedAt ?? null,
          detail: { courseId, canvasUserId: userId, courseSynced: Boolean(course?.lastSyncedAt) },
        };
      }
      return {
        verdict: e.examTaker ? 'exam_taker' : 'skipped',
        reasons: skipReasonHelp(e).map(({ code, title, remedy }) => ({ code, title, remedy })),
        asOf: e.syncedAt,
        detail: { courseId, canvasUserId: e.canvasUserId, name: e.name, roles: e.roles, enrollmentStates: e.enrollmentStates, externalId: e.externalId, sectionIds: e.sectionIds },
      };
    },
  };
}

export type Diagnostics = ReturnType<typeof createDiagnostics>;
