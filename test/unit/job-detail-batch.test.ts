import { describe, expect, it } from '@jest/globals';
import { presentJobDetail } from '../../src/http/presenters/job-detail.js';
import type { Job } from '../../src/jobs/types.js';
import type { CourseView } from '../../src/sync/course-repository.js';

const course = (id: string, lastSyncedAt: string | null): CourseView => ({ canvasId: id, name: `Course ${id}`, courseCode: null, sisCourseId: null, integrationId: null, externalId: null, published: true, syncable: true, reasons: [], workflowState: 'available', accountId: null, refreshedAt: '2026-12-06T10:00:00.000Z', lastSyncedAt, term: null, startAt: null, endAt: null, department: null });
const job = (over: Partial<Job>): Job => ({ id: 'j1', kind: 'course_sync', integrationId: 'i1', state: 'running', params: { courseIds: ['1', '2', '3'] }, progress: { phase: 'courses', done: 1, total: 3 }, etaSeconds: null, createdAt: '2026-12-06T10:00:00.000Z', startedAt: '2026-12-06T10:00:01.000Z', finishedAt: null, error: null, summary: null, attempts: 1, ...over });

describe('the batch sync job page: one view of every course', () => {
  it('while it runs: done, the failure so far, the course in hand, then the ones waiting (from the checkpoint)', () => {
    const courses = new Map([['1', course('1', null)], ['2', course('2', null)], ['3', course('3', null)], ['4', course('4', null)]]);
    const soFar = {
      results: [
        { courseId: '1', examTakers: 3, skipped: 1, added: 3, removed: 0, changed: 0 },
        { courseId: '2', examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, failed: { code: 'course_not_found', message: 'Canvas no longer has this course.' } },
      ],
      current: '3',
    };
    const d = presentJobDetail(job({ params: { courseIds: ['1', '2', '3', '4'] }, progress: { phase: 'courses', done: 2, total: 4 } }), courses, soFar);
    expect(d.courses.map((c) => [c.canvasId, c.outcome, c.text])).toEqual([
      ['1', 'synced', '3 exam-takers, 1 skipped; 3 added, 0 removed, 0 changed'],
      ['2', 'not_synced', 'Not synced: Canvas no longer has this course.'],
      ['3', 'waiting', 'Being synced now'],
      ['4', 'waiting', 'Not synced yet'],
    ]);
    expect(d.current).toEqual({ canvasId: '3', name: 'Course 3' });
    expect(d.notSynced).toBe(1);
    expect(d.progressLabel).toBe('Syncing rosters: 2 of 4 courses');
  });

  it('between two courses nothing is called in hand, and the next course is not mislabelled', () => {
    const soFar = { results: [{ courseId: '1', examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, failed: { code: 'course_not_found', message: 'Gone.' } }], current: null };
    const d = presentJobDetail(job({}), new Map(), soFar);
    expect(d.courses.map((c) => c.text)).toEqual(['Not synced: Gone.', 'Not synced yet', 'Not synced yet']);
    expect(d.current).toBeNull();
  });

  it('after it ends: a course Canvas no longer had reads as not synced, with why', () => {
    const summary = { courses: 2, examTakers: 3, skipped: 1, added: 3, removed: 0, changed: 0, failedCourses: 1, courseResults: [{ courseId: '1', examTakers: 3, skipped: 1, added: 3, removed: 0, changed: 0 }, { courseId: '2', examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0, failed: { code: 'course_not_found', message: 'Canvas no longer has this course.' } }] };
    const d = presentJobDetail(job({ state: 'succeeded', params: { courseIds: ['1', '2'] }, finishedAt: '2026-12-06T10:00:09.000Z', summary }), new Map());
    expect(d.courses.map((c) => [c.canvasId, c.outcome, c.text])).toEqual([
      ['1', 'synced', '3 exam-takers, 1 skipped; 3 added, 0 removed, 0 changed'],
      ['2', 'not_synced', 'Not synced: Canvas no longer has this course.'],
    ]);
  });
});
