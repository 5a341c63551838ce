import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { describeDbError } from '../store/database.js';
import { startLocalJob, type LocalJob } from './execute-job.js';
import { processOwnerId } from './in-process-runner.js';
import type { JobRepository } from './job-repository.js';
import type { AnyJobDefinition, Job, JobKind, JobRunner } from './types.js';

const QUEUE = 'cc-jobs';
const TICK_QUEUE = 'cc-tick';

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
  /** pg-boss's own schema (default `cc_pgboss`). */
  schema?: string;
  /** How long `stop()` waits for running jobs to checkpoint and hand themselves back (default 10 s). */
  stopTimeoutMs?: number;
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
 * the health-check schedule) while the `jobs` table stays the source of truth. Each instance
 * still takes our lease before running, so no job runs twice at once even if pg-boss hands the
 * same job out again: a killed instance's job is re-sent by the orphan sweep once its lease
 * expired, and resumes from its checkpoint.
 *
 * `stop()` hands work over at once: it stops fetching, aborts the running jobs (they save their
 * checkpoint and release the row: `queued`, no lease), sends each released job to the queue again
 * (another instance fetches it within its polling interval, 1 s), then stops pg-boss.
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
  let stopping = false;

  async function send(jobId: string): Promise<void> {
    // pg-boss may hold several messages for one row (a re-send after a release, the orphan sweep):
    // harmless, as the handler claims the row under our lease first. pg-boss cannot dedupe them
    // for us: on a 'standard' queue a singletonKey alone has no effect (pg-boss's unique indexes
    // cover only 'short', 'singleton' and 'stately' queues), and with singletonSeconds it throttles
    // per time slot, which would drop the re-send of a job released during shutdown.
    await boss!.send(QUEUE, { jobId });
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
    if (shutdown.signal.aborted) {
      // Released during shutdown (queued, no lease): hand it to another instance now, not after a retry delay.
      const after = await repo.getRow(jobId);
      if (after?.state === 'queued') await send(jobId);
    }
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
      boss = await startBoss(deps.connectionString, deps.schema ?? 'cc_pgboss', logger);
      // pg-boss 10 runs one job at a time per work() call: one worker per concurrent job.
      for (let i = 0; i < (deps.concurrency ?? 2); i++) {
        await boss.work<{ jobId: string }>(QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => handle(job!.data.jobId));
      }
      // Jobs queued while no instance ran, or whose instance died: hand them to pg-boss again.
      const queued = await repo.list({ limit: 500 });
      for (const j of queued) if (j.state === 'queued') await send(j.id);
      await sweep();
      sweeper = setInterval(() => void sweep().catch((err) => logger?.warn({ err: describeDbError(err) }, 'job sweep failed')), Math.max(1000, Math.floor(leaseMs / 3)));
      if (deps.tick && deps.tick.everyMinutes > 0) {
        await boss.createQueue(TICK_QUEUE, { name: TICK_QUEUE });
        await boss.schedule(TICK_QUEUE, cronEvery(deps.tick.everyMinutes));
        await boss.work(TICK_QUEUE, async () => deps.tick!.onTick());
      }
    },
    async stop() {
      if (!boss || stopping) return;
      stopping = true;
      const b = boss;
      if (sweeper) clearInterval(sweeper);
      // 1. Stop fetching: no new job starts here from now on.
      await b.offWork(QUEUE).catch((err) => logger?.warn({ err: describeDbError(err) }, 'pg-boss offWork failed'));
      if (deps.tick) await b.offWork(TICK_QUEUE).catch(() => undefined);
      // 2. Running jobs checkpoint, release their row and re-send it (see handle()), within stopTimeoutMs.
      shutdown.abort(new Error('shutdown'));
      const released = Promise.all([...running.values()].map((r) => r.promise.catch(() => undefined)));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        released.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), deps.stopTimeoutMs ?? 10_000))),
      ]);
      clearTimeout(timer);
      if (timedOut) logger?.warn({ jobs: [...running.keys()] }, 'jobs did not hand themselves back in time; their leases expire and another instance resumes them');
      // 3. pg-boss completes the handled messages and closes its pool.
      await b.stop({ graceful: true, wait: true, timeout: 2000 }).catch((err) => logger?.warn({ err: describeDbError(err) }, 'pg-boss stop failed'));
      boss = undefined;
      stopping = false;
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running.values()].map((r) => r.promise.catch(() => undefined)));
    },
  };
}

/** Postgres errors two instances creating the queue at the same moment can get: deadlock, duplicate row/table. */
const QUEUE_RACE_CODES = new Set(['40P01', '23505', '42P07']);

/**
 * Starts pg-boss and creates the job queue. pg-boss installs its schema on first start; instances
 * starting together on an empty database can deadlock there too, so a lost race starts over.
 * @throws the last database error after a few tries, or any other start error at once.
 */
async function startBoss(connectionString: string, schema: string, logger: Logger | undefined): Promise<PgBoss> {
  for (let attempt = 1; ; attempt++) {
    const boss = new PgBoss({ connectionString, schema, max: 4 });
    // pg-boss reports a lost connection (its pool's and its workers' errors) here; it keeps polling.
    boss.on('error', (err) => logger?.warn({ err: describeDbError(err) }, 'pg-boss error'));
    try {
      await boss.start();
      await createQueueOnce(boss);
      return boss;
    } catch (err) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      const code = (err as { code?: unknown }).code;
      if (attempt >= 5 || typeof code !== 'string' || !QUEUE_RACE_CODES.has(code)) throw err;
      logger?.warn({ err: describeDbError(err), attempt }, 'pg-boss start lost a race with another instance; starting again');
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
    }
  }
}

/**
 * Creates the job queue unless it exists. pg-boss's `create_queue` inserts the queue row and creates
 * its partition table without a lock, so instances starting together on an empty database can
 * deadlock on it; the loser retries (the queue then exists and nothing more is done).
 * @throws the last database error when the queue still cannot be created after a few tries.
 */
async function createQueueOnce(boss: PgBoss): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(QUEUE)) return;
    try {
      await boss.createQueue(QUEUE, { name: QUEUE, expireInSeconds: 6 * 3600, retryLimit: 20, retryDelay: 2, retryBackoff: true });
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 5 || typeof code !== 'string' || !QUEUE_RACE_CODES.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 200)));
    }
  }
}
