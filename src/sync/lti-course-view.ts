import type { Job } from '../jobs/types.js';
import type { CourseRepository, CourseView, RosterEntryView, SectionView } from './course-repository.js';
import { AppError } from '../errors/app-error.js';
import type { LaunchStore } from '../lti/launch-store.js';
import { compareNrpsWithRoster, type NrpsDifference } from '../lti/nrps-compare.js';

/** What the instructor's read-only course page (opened from Canvas's course navigation) shows. */
export interface LtiCourseData {
  integration: { id: string; name: string; userIdType: string };
  courseId: string;
  /** The course as the last refresh saw it; undefined when it was not in the refresh. */
  course: CourseView | undefined;
  sections: SectionView[];
  roster: RosterEntryView[];
  /** The newest roster sync job that included this course (of the last 50 of the integration). */
  lastSyncJob: Job | undefined;
  /** The last NRPS snapshot taken at launch, compared with the REST roster; null when none was taken. */
  nrps: (NrpsDifference & { error: string | null; fetchedAt: string; learners: number }) | null;
}

export interface LtiCourseView {
  /** @throws AppError not_found when the integration no longer exists */
  load(integrationId: string, courseId: string): Promise<LtiCourseData>;
}

const LEARNER = /membership#Learner$/;

/** The LTI course view: the synced course, its roster and Canvas's own membership list (NRPS) side by side. */
export function createLtiCourseView(deps: {
  launches: Pick<LaunchStore, 'getIntegration' | 'getNrpsSnapshot'>;
  courses: Pick<CourseRepository, 'getCourse' | 'getSections' | 'getRoster'>;
  /** The sync feature's `lastCourseSync`: the same answer the staff course page shows. */
  lastCourseSync: (integrationId: string, courseId: string) => Promise<Job | undefined>;
}): LtiCourseView {
  const { launches, courses } = deps;
  return {
    async load(integrationId, courseId) {
      const integration = await launches.getIntegration(integrationId);
      if (!integration) throw new AppError('not_found', 'This integration no longer exists.');
      const [course, sections, roster, lastSyncJob, snap] = await Promise.all([
        courses.getCourse(integrationId, courseId),
        courses.getSections(integrationId, courseId),
        courses.getRoster(integrationId, courseId),
        deps.lastCourseSync(integrationId, courseId),
        launches.getNrpsSnapshot(integrationId, courseId),
      ]);
      let nrps: LtiCourseData['nrps'] = null;
      if (snap) {
        const diff = compareNrpsWithRoster(snap.members, roster, integration.userIdType);
        const learners = snap.members.filter((m) => m.status.toLowerCase() === 'active' && m.roles.some((r) => LEARNER.test(r))).length;
        nrps = { error: snap.error, fetchedAt: snap.fetchedAt, learners, ...diff };
      }
      return {
        integration: { id: integration.id, name: integration.name, userIdType: integration.userIdType },
        courseId,
        course,
        sections,
        roster,
        lastSyncJob,
        nrps,
      };
    },
  };
}
