import { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { startLocalJob, type LocalJob } from './execute-job.js';
import { processOwnerId } from './in-process-runner.js';
import type { JobRepository } from './job-repository.js';
import type { AnyJobDefinition, Job, JobKind, JobRunner } from './types.js';

const QUEUE = 'cc-jobs';

export interface PgBossRunnerDeps {
  repo: JobRepository;
  definitions: AnyJobDefinition[];
  connectionString: string;
  clock?: () => Date;
  logger?: Logger;
  owner?: string;
  leaseMs?: number;
  /** Jobs run at once in this instance. */
  concurrency?: number;
  maxAttempts?: number;
  /** pg-boss's own schema. */
  schema?: string;
  /** When set with `onTick`, a pg-boss cron schedule calls `onTick` every N minutes (once across instances). */
  tick?: { everyMinutes: number; onTick: () => Promise<void> };
}

/** `*\/N * * * *` for N < 60, hourly or every H hours otherwise (cron has no "every 90 minutes"). */
export function cronEvery(minutes: number): string {
  if (minutes < 60) return `*/${minutes} * * * *`;
  const h = Math.max(1, Math.round(minutes / 60));
  return h >= 24 ? '0 0 * * *' : `0 */${h} * * *`;
}

/**
 * The Postgres runner: pg-boss carries "job X is ready" between instances (send/work, retries,
 * heartbeats, the health-check schedule) while the `jobs` table stays the source of truth. Each
 * instance still takes our lease before running, so no job runs twice at once even if pg-boss
 * hands the same job out again (retry after a missed heartbeat): a killed instance's job is
 * retried by pg-boss and resumes from its checkpoint once the lease expired.
 */
export function createPgBossRunner(deps: PgBossRunnerDeps): JobRunner & { idle(): Promise<void> } {
  const { repo, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const owner = deps.owner ?? processOwnerId();
  const leaseMs = deps.leaseMs ?? 30_000;
  const defs = new Map<JobKind, AnyJobDefinition>(deps.definitions.map((d) => [d.kind, d]));
  const running = new Map<string, LocalJob>();
  let boss: PgBoss | undefined;
  let shutdown = new AbortController();
  let sweeper: NodeJS.Timeout | undefined;

  async function send(jobId: string): Promise<void> {
    // singletonKey: one pending pg-boss job per row, however often we re-send it.
    await boss!.send(QUEUE, { jobId }, { singletonKey: jobId });
  }

  async function handle(jobId: string): Promise<void> {
    const row = await repo.claim(jobId, owner, leaseMs);
    if (!row) {
      const current = await repo.getRow(jobId);
      if (current?.state === 'running') {
        // Someone holds a live lease: ask pg-boss to retry later rather than run it twice.
        throw new Error(`job ${jobId} is held by another instance`);
      }
      return; // finished, cancelled or unknown
    }
    const def = defs.get(row.kind as JobKind);
    if (!def) {
      await repo.finish(row.id, owner, { state: 'failed', error: { code: 'internal', message: `No definition for ${row.kind}` } });
      return;
    }
    await startLocalJob(running, row, def, { repo, owner, leaseMs, clock, logger, shutdown: shutdown.signal, maxAttempts: deps.maxAttempts });
    if (shutdown.signal.aborted) throw new Error('instance stopping; job released for another instance');
  }

  async function sweep(): Promise<void> {
    for (const id of await repo.orphaned()) await send(id);
  }

  return {
    async enqueue(kind, integrationId, params = {}) {
      if (!defs.has(kind)) throw new Error(`No job definition for ${kind}`);
      // The same work already queued or running is answered with that job; its message went out when it was created.
      const { job, created } = await repo.createUnlessActive(kind, integrationId, params);
      if (boss && created) await send(job.id);
      return job;
    },
    async cancel(id): Promise<Job | undefined> {
      const job = await repo.requestCancel(id);
      if (job?.state === 'running') running.get(id)?.control?.cancel();
      return job;
    },
    async start() {
      if (boss) return;
      shutdown = new AbortController();
      boss = new PgBoss({ connectionString: deps.connectionString, schema: deps.schema ?? 'pgboss' });
      boss.on('error', (err) => logger?.error({ err }, 'pg-boss error'));
      await boss.start();
      await boss.createQueue(QUEUE, {
        expireInSeconds: 6 * 3600,
        heartbeatSeconds: 30,
        retryLimit: 20,
        retryDelay: 2,
        retryBackoff: true,
        retryDelayMax: 60,
      });
      await boss.work<{ jobId: string }>(
        QUEUE,
        { batchSize: 1, localConcurrency: deps.concurrency ?? 2, pollingIntervalSeconds: 1 },
        async ([job]) => handle(job!.data.jobId),
      );
      // Jobs queued while no instance ran, or whose instance died: hand them to pg-boss again.
      const queued = await repo.list({ limit: 500 });
      for (const j of queued) if (j.state === 'queued') await send(j.id);
      await sweep();
      sweeper = setInterval(() => void sweep().catch((err) => logger?.warn({ err }, 'job sweep failed')), leaseMs);
      if (deps.tick && deps.tick.everyMinutes > 0) {
        const tickQueue = 'cc-tick';
        await boss.createQueue(tickQueue);
        await boss.schedule(tickQueue, cronEvery(deps.tick.everyMinutes));
        await boss.work(tickQueue, async () => deps.tick!.onTick());
      }
    },
    async stop() {
      if (!boss) return;
      if (sweeper) clearInterval(sweeper);
      shutdown.abort(new Error('shutdown'));
      await Promise.all([...running.values()].map((r) => r.promise.catch(() => undefined)));
      await boss.stop({ graceful: true, timeout: 5000 });
      boss = undefined;
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running.values()].map((r) => r.promise.catch(() => undefined)));
    },
  };
}
