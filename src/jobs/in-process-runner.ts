import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { startLocalJob, type LocalJob } from './execute-job.js';
import type { JobRepository } from './job-repository.js';
import type { AnyJobDefinition, Job, JobKind, JobRunner } from './types.js';

export interface InProcessRunnerDeps {
  repo: JobRepository;
  definitions: AnyJobDefinition[];
  clock?: () => Date;
  logger?: Logger;
  /** Identifies this process in `lease_owner`. */
  owner?: string;
  pollMs?: number;
  /** How long a lease holds without a heartbeat; a killed process's job is picked up after this. */
  leaseMs?: number;
  /** Jobs run at once in this process. */
  concurrency?: number;
  maxAttempts?: number;
}

/** A unique lease owner id for this process. */
export function processOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * The SQLite runner: polls the `jobs` table and leases jobs (`lease_owner`/`lease_expires_at`), so
 * a job whose process was SIGKILLed is picked up again once its lease expires and resumes from its
 * checkpoint. Several processes on one database file share the work safely (claims are atomic).
 */
export function createInProcessRunner(deps: InProcessRunnerDeps): JobRunner & { idle(): Promise<void> } {
  const { repo, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const owner = deps.owner ?? processOwnerId();
  const pollMs = deps.pollMs ?? 500;
  const leaseMs = deps.leaseMs ?? 30_000;
  const concurrency = deps.concurrency ?? 2;
  const defs = new Map<JobKind, AnyJobDefinition>(deps.definitions.map((d) => [d.kind, d]));
  const kinds = [...defs.keys()];
  const running = new Map<string, LocalJob>();
  let shutdown = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let started = false;

  async function pollOnce(): Promise<void> {
    while (started && running.size < concurrency) {
      const row = await repo.claimNext(owner, leaseMs, kinds, [...running.keys()]);
      if (!row) return;
      const def = defs.get(row.kind as JobKind)!;
      void startLocalJob(running, row, def, { repo, owner, leaseMs, clock, logger, shutdown: shutdown.signal, maxAttempts: deps.maxAttempts })
        .catch((err) => logger?.error({ err, jobId: row.id }, 'job runner error'))
        .finally(kick);
    }
  }

  function kick(): void {
    if (!started || polling) return;
    polling = pollOnce()
      .catch((err) => logger?.error({ err }, 'job poll failed'))
      .finally(() => (polling = undefined));
  }

  return {
    async enqueue(kind, integrationId, params) {
      if (!defs.has(kind)) throw new Error(`No job definition for ${kind}`);
      const { job, created } = await repo.createUnlessActive(kind, integrationId, params);
      if (created) setImmediate(kick);
      return job;
    },
    async cancel(id): Promise<Job | undefined> {
      const job = await repo.requestCancel(id);
      if (job?.state === 'running') running.get(id)?.control?.cancel();
      return job;
    },
    async start() {
      if (started) return;
      started = true;
      shutdown = new AbortController();
      timer = setInterval(kick, pollMs);
      kick();
    },
    async stop() {
      if (!started) return;
      started = false;
      if (timer) clearInterval(timer);
      shutdown.abort(new Error('shutdown'));
      await polling;
      await Promise.all([...running.values()].map((r) => r.promise));
    },
    /** Resolves when no job is running in this process (tests). */
    async idle() {
      while (running.size > 0 || polling) {
        await Promise.all([...running.values()].map((r) => r.promise));
        await polling;
      }
    },
  };
}
