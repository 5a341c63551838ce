import { describe, expect, it } from '@jest/globals';
import { presentJobDetail } from '../../src/http/presenters/job-detail.js';
import type { Job } from '../../src/jobs/types.js';
import type { CourseView } from '../../src/sync/course-repository.js';

const course = (id: string, lastSyncedAt: string | null): CourseView => ({ canvasId: id, name: `Course ${id}`, courseCode: null, sisCourseId: null, integrationId: null, externalId: null, published: true, syncable: true, reasons: [], workflowState: 'available', accountId: null, refreshedAt: '2026-12-06T10:00:00.000Z', lastSyncedAt, term: null, startAt: null, endAt: null, department: null });
const job = (over: Partial<Job>): Job => ({ id: 'j1', kind: 'course_sync', integrationId: 'i1', state: 'running', params: { courseIds: ['1', '2', '3'] }, progress: { phase: 'courses', done: 1, total: 3 }, etaSeconds: null, createdAt: '2026-12-06T10:00:00.000Z', startedAt: '2026-12-06T10:00:01.000Z', finishedAt: null, error: null, summary: null, attempts: 1, ...over });

describe('the batch sync job page: one view of every course', () => {
  it('while it runs: done, the course in hand, then the ones waiting', () => {
    const courses = new Map([['1', course('1', '2026-12-06T10:00:02.000Z')], ['2', course('2', null)], ['3', course('3', null)]]);
    const d = presentJobDetail(job({}), courses, new Date('2026-12-06T10:00:05.000Z'));
    expect(d.courses.map((c) => [c.canvasId, c.outcome, c.text])).toEqual([
      ['1', 'synced', 'Synced by this job'],
      ['2', 'waiting', 'Being synced now'],
      ['3', 'waiting', 'Not synced yet'],
    ]);
  });

  it('after it ends: a course Canvas no longer had reads as not synced, with why', () => {
    const summary = { courses: 2, examTakers: 3, skipped: 1, added: 3, removed: 0, changed: 0, failedCourses: 1, courseResults: [{ courseId: '1', examTakers: 3, skipped: 1, added: 3, removed: 0, changed: 0 }, { courseId: '2', examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, failed: { code: 'course_not_found', message: 'Canvas no longer has this course.' } }] };
    const d = presentJobDetail(job({ state: 'succeeded', params: { courseIds: ['1', '2'] }, finishedAt: '2026-12-06T10:00:09.000Z', summary }), new Map(), new Date('2026-12-06T10:00:10.000Z'));
    expect(d.courses.map((c) => [c.canvasId, c.outcome, c.text])).toEqual([
      ['1', 'synced', '3 exam-takers, 1 skipped; 3 added, 0 removed, 0 changed'],
      ['2', 'not_synced', 'Not synced: Canvas no longer has this course.'],
    ]);
  });
});
