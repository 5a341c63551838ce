import { describe, expect, it } from '@jest/globals';
import { presentJobDetail } from '../../../src/http/presenters/job-detail.js';
import type { Job } from '../../../src/jobs/types.js';

describe('the job detail of a sync list run', () => {
  it('says what the run did, and names each course that failed with why', () => {
    const job: Job = {
      id: 'j1',
      kind: 'sync_list_sync',
      integrationId: 'i1',
      state: 'succeeded',
      params: { trigger: 'schedule' },
      progress: { phase: 'courses', done: 3, total: 3 },
      etaSeconds: null,
      createdAt: '2026-12-06T10:00:00.000Z',
      startedAt: '2026-12-06T10:00:00.000Z',
      finishedAt: '2026-12-06T10:00:05.000Z',
      error: null,
      summary: { courses: 3, synced: 2, failed: 1, examTakers: 40, added: 3, removed: 1, changed: 0, resumed: false, failures: [{ courseId: '77', code: 'course_not_found', message: 'Canvas has no course 77.' }] },
      attempts: 1,
    };
    const d = presentJobDetail(job, new Map());
    expect(d.kindTitle).toBe('Sync list sync');
    expect(d.did).toEqual([
      'Asked to re-sync the roster of every course on the sync list, on its schedule, several courses at once.',
      'Synced 2 of 3 courses: 40 exam-takers; 3 added, 1 removed, 0 changed since the previous sync.',
      'Course 77 was not synced (course_not_found): Canvas has no course 77.',
    ]);
    expect(d.progressLabel).toBe('Finished');
  });
});
