import { describe, expect, it } from '@jest/globals';
import { describeJobSummary, dedupeKeyFor, JOB_KIND_INFO, JOB_KINDS, jobLabel, type JobSummary } from '../../../src/jobs/job-kinds.js';
import type { JobRepository } from '../../../src/jobs/job-repository.js';
import type { Job, JobDefinition, JobRunner } from '../../../src/jobs/types.js';

describe('job registry', () => {
  it('gives every kind a label and a summary describer', () => {
    expect(JOB_KINDS).toEqual(['course_refresh', 'course_sync', 'grade_post', 'sync_list_sync', 'health_check']);
    for (const kind of JOB_KINDS) {
      const info = JOB_KIND_INFO[kind];
      expect(info.label).toMatch(/^[A-Z][a-z]+( [a-z]+)*$/);
      expect(typeof info.describeSummary).toBe('function');
    }
    expect(new Set(JOB_KINDS.map(jobLabel)).size).toBe(JOB_KINDS.length);
  });

  it('describes each kind’s summary as the Jobs page shows it', () => {
    const refresh = { path: 'bulk', courses: 12, sections: 30 } as JobSummary<'course_refresh'>;
    expect(describeJobSummary('course_refresh', refresh)).toBe('12 courses, 30 sections of syncable courses (provisioning report)');
    expect(describeJobSummary('course_refresh', { ...refresh, path: 'rest' })).toBe('12 courses, 30 sections of syncable courses (REST API)');
    expect(describeJobSummary('course_sync', { courses: 1, examTakers: 25, skipped: 3 })).toBe('25 exam-takers, 3 skipped');
    // Counts read as words: one of a thing, thousands grouped.
    expect(describeJobSummary('course_sync', { courses: 1, examTakers: 1, skipped: 0 })).toBe('1 exam-taker, 0 skipped');
    expect(describeJobSummary('course_refresh', { path: 'bulk', courses: 2000, sections: 1 } as JobSummary<'course_refresh'>)).toBe('2,000 courses, 1 section of syncable courses (provisioning report)');
    expect(describeJobSummary('health_check', { checked: 1, changed: [] })).toBe('1 integration checked, 0 changed');
    expect(describeJobSummary('health_check', { checked: 4, changed: [{ integrationId: 'a', from: 'verified', to: 'failed' }] })).toBe(
      '4 integrations checked, 1 changed',
    );
    // One integration's check has no line of its own: the page shows the progress line instead.
    expect(describeJobSummary('health_check', { integrationId: 'a', status: { state: 'verified' } })).toBeNull();
    expect(describeJobSummary('course_sync', null)).toBeNull();
    const run = { courses: 10, synced: 9, failed: 1, examTakers: 300, added: 4, removed: 2, changed: 1, failures: [], resumed: false };
    expect(describeJobSummary('sync_list_sync', run)).toBe('9 of 10 courses synced: 4 added, 2 removed, 1 changed; 1 failed');
    expect(describeJobSummary('sync_list_sync', { ...run, synced: 10, failed: 0 })).toBe('10 of 10 courses synced: 4 added, 2 removed, 1 changed');
  });

  it('keeps a stored kind this version does not know readable', () => {
    expect(jobLabel('grade_post_v0')).toBe('grade_post_v0');
    expect(describeJobSummary('grade_post_v0', { n: 1 })).toBeNull();
    expect(jobLabel('toString')).toBe('toString');
  });

  it('dedupes roster syncs per course or selection, everything else per integration', () => {
    expect(dedupeKeyFor('course_sync', { courseIds: ['7'] })).toBe('course:7');
    expect(dedupeKeyFor('course_sync', { courseIds: ['2', '1', '2'] })).toBe(dedupeKeyFor('course_sync', { courseIds: ['1', '2'] }));
    expect(dedupeKeyFor('course_sync', { courseIds: ['1', '2'] })).toMatch(/^courses:[0-9a-f]{64}$/);
    expect(dedupeKeyFor('course_refresh', { path: 'rest' })).toBe('');
    expect(dedupeKeyFor('health_check', {})).toBe('');
    const exam = { key: 'mid-1', title: 'Midterm', pointsPossible: 100, published: true };
    expect(dedupeKeyFor('grade_post', { courseId: '7', exam, scores: [] })).toBe('grade:7:mid-1');
    expect(describeJobSummary('grade_post', { examKey: 'mid-1', posted: 3, unchanged: 1, unknownUser: 1, notExamTaker: 0, invalidScore: 1, failed: 0, writeRequests: 1 })).toBe(
      'mid-1: 3 posted, 1 unchanged, 2 not posted (1 write request)',
    );
    // A scheduled run and one started by a person are the same work: never two at once.
    expect(dedupeKeyFor('sync_list_sync', { trigger: 'schedule' })).toBe(dedupeKeyFor('sync_list_sync', { trigger: 'manual' }));
  });

  it('refuses wrong parameters and summaries at compile time (tsc checks this file)', async () => {
    const enqueued: string[] = [];
    const runner: Pick<JobRunner, 'enqueue'> = {
      enqueue: async (kind) => (enqueued.push(kind), { kind } as Job),
    };
    await runner.enqueue('course_sync', 'i', { courseIds: ['1'] });
    await runner.enqueue('course_refresh', 'i', { path: 'rest' });
    await runner.enqueue('course_refresh', 'i', {});
    await runner.enqueue('health_check', '*', {});
    await runner.enqueue('sync_list_sync', 'i', { trigger: 'schedule' });
    // @ts-expect-error a sync list run is started by a person or the schedule
    await runner.enqueue('sync_list_sync', 'i', { trigger: 'cron' });
    // @ts-expect-error a roster sync needs courseIds
    await runner.enqueue('course_sync', 'i', {});
    // @ts-expect-error course ids are strings
    await runner.enqueue('course_sync', 'i', { courseIds: [1] });
    // @ts-expect-error a refresh's path is bulk or rest
    await runner.enqueue('course_refresh', 'i', { path: 'soap' });
    // @ts-expect-error a refresh takes no course ids
    await runner.enqueue('course_refresh', 'i', { courseIds: ['1'] });
    // @ts-expect-error a kind that is not registered
    await runner.enqueue('grade_post', 'i', {});
    const repo = { create: async () => ({}) as Job } as unknown as Pick<JobRepository, 'create'>;
    // @ts-expect-error the repository checks parameters the same way
    await repo.create('course_sync', 'i', { courseId: '1' });

    const sync: JobDefinition<'course_sync'> = {
      kind: 'course_sync',
      // Typed parameters in, the kind's summary out.
      run: async (ctx) => ({ courses: ctx.params.courseIds.length, examTakers: 0, skipped: 0, added: 0, removed: 0, changed: 0 }),
    };
    const wrongSummary: JobDefinition<'course_sync'> = {
      kind: 'course_sync',
      // @ts-expect-error a roster sync's summary has its counts
      run: async () => ({ courses: 1 }),
    };
    // @ts-expect-error the kind and the handler's types must agree
    const wrongKind: JobDefinition<'course_sync'> = { kind: 'course_refresh', run: sync.run };
    expect([sync.kind, wrongSummary.kind, wrongKind.kind]).toEqual(['course_sync', 'course_sync', 'course_refresh']);
    expect(enqueued).toEqual(['course_sync', 'course_refresh', 'course_refresh', 'health_check', 'sync_list_sync', 'sync_list_sync', 'course_sync', 'course_sync', 'course_refresh', 'course_refresh', 'grade_post']);
  });
});
