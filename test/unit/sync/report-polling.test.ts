import { describe, expect, it } from '@jest/globals';
import { nextPollDelay } from '../../../src/sync/roster-report.js';

describe('nextPollDelay (when to ask about a running report again)', () => {
  it('follows the schedule until the report has moved since it was first seen', () => {
    expect(nextPollDelay(500, undefined, { atMs: 0, progress: 10 })).toBe(500);
    expect(nextPollDelay(500, { atMs: 0, progress: 10 }, { atMs: 0, progress: 10 })).toBe(500);
    expect(nextPollDelay(500, { atMs: 0, progress: 10 }, { atMs: 400, progress: 10 })).toBe(500);
  });

  it('asks again just after the end its progress points to, when that comes before the next step', () => {
    // 10 % → 90 % in 1.6 s: 0.05 %/ms, so the last 10 % take 200 ms (+50 ms margin).
    expect(nextPollDelay(500, { atMs: 0, progress: 10 }, { atMs: 1600, progress: 90 })).toBe(250);
    // Far from done: the schedule's step is the shorter wait.
    expect(nextPollDelay(500, { atMs: 0, progress: 1 }, { atMs: 1000, progress: 2 })).toBe(500);
  });

  it('never polls more often than every 100 ms, and leaves a finished report to the schedule', () => {
    expect(nextPollDelay(500, { atMs: 0, progress: 10 }, { atMs: 100, progress: 99 })).toBe(100);
    expect(nextPollDelay(500, { atMs: 0, progress: 10 }, { atMs: 100, progress: 100 })).toBe(500);
  });
});
