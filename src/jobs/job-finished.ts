import type { Logger } from 'pino';
import { jobDuration, jobsFinished } from '../metrics/metrics.js';
import type { JobRepository } from './job-repository.js';
import type { Job } from './types.js';

/** Told once a job reached a final state (succeeded, failed, cancelled), with the job as stored then. */
export type JobFinishedListener = (job: Job) => void | Promise<void>;

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Wraps a job repository so every final state it writes is counted in the job metrics and told to
 * `listener` (the composition root turns it into a `job.finished` webhook). Both runners end jobs
 * through `finish` (execute-job.ts) or, for a queued job, `requestCancel`, so this one wrapper
 * sees every ending. A `finish` that lost the lease changes nothing and tells nobody. A failing
 * listener is logged; it never fails the job's own bookkeeping.
 */
export function notifyWhenFinished(repo: JobRepository, listener: JobFinishedListener | undefined, logger?: Logger): JobRepository {
  const tell = async (job: Job) => {
    const outcome = job.state;
    const started = job.startedAt ?? job.createdAt;
    const seconds = job.finishedAt ? Math.max(0, (Date.parse(job.finishedAt) - Date.parse(started)) / 1000) : 0;
    jobsFinished.inc({ kind: job.kind, outcome });
    jobDuration.observe({ kind: job.kind, outcome }, seconds);
    try {
      await listener?.(job);
    } catch (err) {
      logger?.warn({ err, jobId: job.id }, 'the job-finished listener failed');
    }
  };
  return {
    ...repo,
    async finish(id, owner, outcome) {
      const before = await repo.getRow(id);
      await repo.finish(id, owner, outcome);
      if (!before || before.lease_owner !== owner || FINAL.has(before.state)) return;
      const after = await repo.get(id);
      if (after && FINAL.has(after.state)) await tell(after);
    },
    async requestCancel(id) {
      const before = await repo.get(id);
      const after = await repo.requestCancel(id);
      if (before?.state === 'queued' && after?.state === 'cancelled') await tell(after);
      return after;
    },
  };
}
