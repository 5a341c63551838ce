import { describe, expect, it } from '@jest/globals';
import { describeProgress } from '../../../src/jobs/describe-progress.js';
import type { Job } from '../../../src/jobs/types.js';

const job = (kind: Job['kind'], phase: string, done: number, total: number | null, state: Job['state'] = 'running') =>
  ({ kind, state, progress: { phase, done, total }, error: null }) as Pick<Job, 'kind' | 'state' | 'progress' | 'error'>;

describe('describeProgress', () => {
  it('labels every phase of the report path in one unit each', () => {
    expect(describeProgress(job('course_refresh', 'starting report', 0, null)).label).toBe('Asking Canvas for the provisioning report');
    expect(describeProgress(job('course_refresh', 'report', 42, 100))).toEqual({ label: 'Canvas is preparing the report (42 %)', done: 42, total: 100 });
    expect(describeProgress(job('course_refresh', 'downloading', 0, null)).label).toBe('Downloading the report from Canvas');
    expect(describeProgress(job('course_refresh', 'saving courses', 1200, 2000))).toEqual({ label: 'Saving courses from the report: 1,200 of 2,000 courses', done: 1200, total: 2000 });
    expect(describeProgress(job('course_refresh', 'counting sections', 0, null)).label).toBe('Finding the sections of syncable courses in the report');
    expect(describeProgress(job('course_refresh', 'saving sections', 3569, 3569)).label).toBe('Saving sections of syncable courses from the report: 3,569 of 3,569 sections');
  });

  it('labels the REST path: courses listed (total unknown), then syncable courses whose sections were read', () => {
    expect(describeProgress(job('course_refresh', 'courses', 300, null))).toEqual({ label: 'Listing courses: 300 courses so far', done: 300, total: null });
    expect(describeProgress(job('course_refresh', 'sections', 1200, 1800)).label).toBe('Reading sections: 1,200 of 1,800 syncable courses');
  });

  it('labels roster syncs and health checks, and never shows a bare number', () => {
    expect(describeProgress(job('course_sync', 'courses', 1, 3)).label).toBe('Syncing rosters: 1 of 3 courses');
    expect(describeProgress(job('health_check', 'checking', 0, null)).label).toBe('Checking the connection with Canvas');
    expect(describeProgress(job('course_refresh', 'something new', 5, 10)).label).toBe('Something new: 5 of 10');
  });

  it('labels the phases of a grade post', () => {
    expect(describeProgress(job('grade_post', 'assignment', 0, 40)).label).toBe("Finding the exam's assignment in Canvas");
    expect(describeProgress(job('grade_post', 'reading scores', 0, 40)).label).toBe('Reading the scores Canvas holds');
    expect(describeProgress(job('grade_post', 'posting', 500, 1000)).label).toBe('Posting scores (Canvas grades each batch in the background): 500 of 1,000 scores');
  });

  it('says how an ended job ended instead of its last phase', () => {
    expect(describeProgress(job('course_refresh', 'queued', 0, null, 'queued')).label).toBe('Waiting to start');
    expect(describeProgress(job('course_refresh', 'succeeded', 3939, 3939, 'succeeded'))).toEqual({ label: 'Finished', done: 3939, total: 3939 });
    expect(describeProgress({ ...job('course_refresh', 'failed', 3, 10, 'failed'), error: { code: 'throttled', message: 'Canvas kept refusing.' } }).label).toBe('Failed: Canvas kept refusing.');
    expect(describeProgress(job('course_sync', 'cancelled', 1, 3, 'cancelled')).label).toBe('Cancelled');
  });
});
