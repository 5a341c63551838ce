import { describe, expect, it } from '@jest/globals';
import { progressLine } from '../../../src/cli/commands/refresh.js';
import { createEtaEstimator } from '../../../src/jobs/execute-job.js';
import { classifyJobError } from '../../../src/jobs/job-error.js';
import { cronEvery } from '../../../src/jobs/pg-boss-runner.js';
import { JobFailure, type Job } from '../../../src/jobs/types.js';

describe('job helpers', () => {
  it('estimates the time left from the rate of done, only once the total is known', () => {
    let t = 0;
    const eta = createEtaEstimator(() => new Date(t));
    expect(eta({ phase: 'sections', done: 0, total: 100 })).toBeNull();
    t = 10_000;
    expect(eta({ phase: 'sections', done: 20, total: 100 })).toBe(40);
    expect(eta({ phase: 'courses', done: 500, total: null })).toBeNull();
  });

  it('keeps the code of a JobFailure and hides unknown errors', () => {
    expect(classifyJobError(new JobFailure('course_not_found', 'gone'))).toEqual({ code: 'course_not_found', message: 'gone' });
    const hidden = classifyJobError(new Error('secret token abc'));
    expect(hidden.code).toBe('internal');
    expect(hidden.message).not.toContain('abc');
  });

  it('recognises a failure by its class: an error that only looks like a Canvas failure is internal', () => {
    expect(classifyJobError(Object.assign(new Error('x'), { name: 'CanvasApiError', kind: 'throttled', reason: 'throttled' })).code).toBe('internal');
  });

  it('draws a bar that fills with done/total, labelled in the units of the pages', () => {
    const job = { kind: 'course_refresh', state: 'running', progress: { phase: 'sections', done: 50, total: 100 }, etaSeconds: 12, error: null } as Job;
    expect(progressLine(job, 10)).toBe('[#####-----] Reading sections: 50 of 100 syncable courses · ~12 s left');
    expect(progressLine({ ...job, progress: { phase: 'courses', done: 300, total: null }, etaSeconds: null }, 4)).toBe('[~~~~] Listing courses: 300 courses so far');
  });

  it('turns the health-check interval into a cron expression', () => {
    expect(cronEvery(15)).toBe('*/15 * * * *');
    expect(cronEvery(60)).toBe('0 */1 * * *');
    expect(cronEvery(24 * 60)).toBe('0 0 * * *');
  });
});

describe('health_check job', () => {
  it('checks every connected integration for the scheduled "*" job, one integration otherwise', async () => {
    const { createHealthCheckJob, ALL_INTEGRATIONS } = await import('../../../src/jobs/health-check-job.js');
    const calls: Array<string | undefined> = [];
    const def = createHealthCheckJob({ runHealthChecks: async (id) => (calls.push(id), { checked: id ? 1 : 3 }) });
    const ctx = (integrationId: string) => ({
      jobId: 'j',
      integrationId,
      params: {},
      checkpoint: null,
      attempt: 1,
      startedAt: new Date().toISOString(),
      saveCheckpoint: async () => undefined,
      progress: async () => undefined,
      isCancelled: () => false,
      signal: new AbortController().signal,
    });
    expect(await def.run(ctx(ALL_INTEGRATIONS))).toEqual({ checked: 3 });
    expect(await def.run(ctx('int-1'))).toEqual({ checked: 1 });
    expect(calls).toEqual([undefined, 'int-1']);
  });
});
