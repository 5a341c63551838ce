import { describe, expect, it } from '@jest/globals';
import type { Job } from '../../src/jobs/types.js';
import { createLtiCourseView } from '../../src/sync/lti-course-view.js';
import type { RosterEntryView } from '../../src/sync/course-repository.js';
import { presentLtiCourse } from '../../src/http/presenters/lti-course.js';

const job = (id: string, state: Job['state'], params: Record<string, unknown>): Job => ({
  id, kind: 'course_sync', integrationId: 'int-1', state, params, progress: { phase: 'done', done: 1, total: 1 }, etaSeconds: null,
  createdAt: '2026-12-01T10:00:00.000Z', startedAt: null, finishedAt: null, error: null, summary: null, attempts: 1,
});

const person = (canvasUserId: string, name: string, examTaker: boolean): RosterEntryView => ({
  canvasUserId, name, roles: [examTaker ? 'StudentEnrollment' : 'TeacherEnrollment'], enrollmentStates: ['active'], externalId: examTaker ? `S${canvasUserId}` : null,
  sectionIds: ['s1'], examTaker, reasons: examTaker ? [] : ['role_not_selected'], courseAdmin: false, pendingUntil: null, syncedAt: '2026-12-01T10:00:00.000Z',
});

function view(jobs: Job[]) {
  return createLtiCourseView({
    launches: {
      getIntegration: async (id) => (id === 'int-1' ? { id, name: 'Uni One', canvasUrl: 'https://uni.instructure.com', userIdType: 'sis_user_id', lti: null } : undefined),
      getNrpsSnapshot: async () => undefined,
    },
    courses: {
      getCourse: async () => undefined,
      getSections: async () => [{ canvasId: 's1', name: 'Section A', externalId: 'SEC-A', syncable: true, reasons: [] }],
      getRoster: async () => [
        person('1', 'Ann', true),
        person('2', 'Tom', false),
        { ...person('3', 'Tess', false), externalId: 'T3', courseAdmin: true },
        { ...person('4', 'Fay', true), pendingUntil: '2099-01-10T07:00:00.000Z' },
      ],
    },
    lastCourseSync: async (_id, courseId) => jobs.find((j) => (j.params.courseIds as string[]).includes(courseId)),
  });
}

describe('the LTI course view', () => {
  it('shows the state of the roster sync that included this course', async () => {
    const d = await view([job('j2', 'running', { courseIds: ['200'] }), job('j1', 'succeeded', { courseIds: ['100', '200'] })]).load('int-1', '100');
    expect(d.lastSyncJob?.id).toBe('j1');
    expect(presentLtiCourse(d).sync.jobState).toBe('succeeded');
  });

  it('has no job state when no sync included the course', async () => {
    const d = await view([job('j2', 'running', { courseIds: ['200'] })]).load('int-1', '100');
    expect(presentLtiCourse(d).sync.jobState).toBeNull();
  });

  it('splits exam-takers from skipped people with section names', async () => {
    const page = presentLtiCourse(await view([]).load('int-1', '100'));
    expect(page.examTakers).toEqual([
      { name: 'Ann', externalId: 'S1', sections: 'Section A', pendingUntil: null },
      { name: 'Fay', externalId: 'S4', sections: 'Section A', pendingUntil: '2099-01-10T07:00:00.000Z' },
    ]);
    expect(page.courseAdmins).toEqual([{ name: 'Tess', externalId: 'T3', roles: 'TeacherEnrollment' }]);
    expect(page.skipped.map((p) => p.name)).toEqual(['Tom', 'Tess']);
    expect(page.course.known).toBe(false);
  });

  it('refuses an integration that no longer exists', async () => {
    await expect(view([]).load('gone', '100')).rejects.toMatchObject({ code: 'not_found' });
  });
});
