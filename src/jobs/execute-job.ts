import type { Logger } from 'pino';
import { describeDbError, isTransientDbError, retryTransientDb } from '../store/database.js';
import { classifyJobError } from './job-error.js';
import { LeaseLostError, type JobRepository, type JobRow } from './job-repository.js';
import type { AnyJobDefinition, JobContext, JobProgress } from './types.js';

export interface ExecuteOptions {
  repo: JobRepository;
  owner: string;
  leaseMs: number;
  clock: () => Date;
  logger?: Logger;
  /** Aborted by the runner on shutdown: the job is handed back, not failed. */
  shutdown: AbortSignal;
  /** After this many attempts (crashes/lease expiries), the job fails instead of resuming again. */
  maxAttempts?: number;
  /** Lets the runner stop a local job at once on cancel. */
  onController?: (control: { cancel(): void }) => void;
}

/** How often one run resumes in place after a lost database connection before it gives up for this process. */
const MAX_DB_RESUMES = 10;

/** Sliding-window rate of `done` per second → seconds left, once the total is known. */
export function createEtaEstimator(clock: () => Date, windowMs = 30_000) {
  const samples: Array<{ t: number; done: number; phase: string }> = [];
  return (p: JobProgress): number | null => {
    const t = clock().getTime();
    if (samples.length && samples[samples.length - 1]!.phase !== p.phase) samples.length = 0;
    samples.push({ t, done: p.done, phase: p.phase });
    while (samples.length > 2 && t - samples[0]!.t > windowMs) samples.shift();
    if (p.total === null || samples.length < 2) return null;
    const first = samples[0]!;
    const dt = (t - first.t) / 1000;
    const dd = p.done - first.done;
    if (dt <= 0 || dd <= 0) return null;
    return Math.max(0, Math.round((p.total - p.done) / (dd / dt)));
  };
}

/**
 * Runs one claimed job to an end state: builds its context (checkpoint, coalesced progress, ETA,
 * cancel flag), heartbeats the lease, and records succeeded / failed {code, message} / cancelled.
 * On shutdown it releases the job (queued again, checkpoint kept) so the next process resumes it;
 * on a lost lease it writes nothing (the new owner is in charge).
 */
export async function executeJob(row: JobRow, def: AnyJobDefinition, opts: ExecuteOptions): Promise<void> {
  const { repo, owner, leaseMs, logger } = opts;
  const ac = new AbortController();
  let cancelled = Number(row.cancel_requested) === 1;
  opts.onController?.({
    cancel: () => {
      cancelled = true;
      ac.abort(new Error('cancelled'));
    },
  });
  let lost = false;
  const onShutdown = () => ac.abort(new Error('shutdown'));
  if (opts.shutdown.aborted) onShutdown();
  opts.shutdown.addEventListener('abort', onShutdown, { once: true });
  const beat = startHeartbeat(row, opts, {
    lost: () => {
      lost = true;
      ac.abort(new LeaseLostError(row.id));
    },
    cancelRequested: () => {
      if (cancelled) return;
      cancelled = true;
      ac.abort(new Error('cancelled'));
    },
  });

  const maxAttempts = opts.maxAttempts ?? 5;
  const contextFor = createContextFactory(row, opts, ac.signal, () => cancelled || ac.signal.aborted);

  const runResuming = () =>
    runResumingAfterDbLoss(row, def, opts, contextFor, ac.signal, {
      lost: () => lost,
      markLost: () => void (lost = true),
    });
  // End-state writes are guarded by the lease owner, so repeating them after a lost connection is safe.
  const write = (fn: () => Promise<unknown>) => retryTransientDb(fn, { maxMs: leaseMs });

  try {
    if (Number(row.attempts) > maxAttempts) {
      await write(() =>
        repo.finish(row.id, owner, {
          state: 'failed',
          error: { code: 'internal', message: `Gave up after ${maxAttempts} interrupted attempts.` },
        }),
      );
      return;
    }
    if (cancelled) {
      await write(() => repo.finish(row.id, owner, { state: 'cancelled' }));
      return;
    }
    const summary = await runResuming();
    if (lost) return;
    if (cancelled) await write(() => repo.finish(row.id, owner, { state: 'cancelled', summary }));
    else if (opts.shutdown.aborted && ac.signal.aborted) await write(() => repo.release(row.id, owner));
    else await write(() => repo.finish(row.id, owner, { state: 'succeeded', summary }));
  } catch (err) {
    if (lost || err instanceof LeaseLostError) {
      logger?.warn({ jobId: row.id }, 'job lease lost; another process owns it now');
    } else if (cancelled) {
      await write(() => repo.finish(row.id, owner, { state: 'cancelled' }));
    } else if (opts.shutdown.aborted) {
      await write(() => repo.release(row.id, owner));
    } else if (isTransientDbError(err)) {
      // The database stayed away longer than the job may wait: leave the row running under its
      // lease, which expires, and the job resumes from its checkpoint in whichever process claims it.
      logger?.warn({ jobId: row.id, err: describeDbError(err) }, 'database unreachable; the job resumes from its checkpoint once its lease expires');
    } else {
      const error = classifyJobError(err);
      logger?.warn({ jobId: row.id, kind: row.kind, code: error.code, err }, 'job failed');
      await write(() => repo.finish(row.id, owner, { state: 'failed', error }));
    }
  } finally {
    clearInterval(beat);
    opts.shutdown.removeEventListener('abort', onShutdown);
  }
}

/**
 * Runs the definition; when the database connection is lost mid-run (failover, restart, ended
 * backends) it waits for the database, re-reads the last checkpoint and runs again from there,
 * in this process and under the same lease, instead of failing the job.
 * @throws the run's error, or LeaseLostError when another process owns the job by then.
 */
async function runResumingAfterDbLoss(
  row: JobRow,
  def: AnyJobDefinition,
  opts: ExecuteOptions,
  contextFor: (checkpoint: string | null) => JobContext,
  signal: AbortSignal,
  lease: { lost(): boolean; markLost(): void },
): Promise<Record<string, unknown>> {
  const { repo, owner, leaseMs, logger } = opts;
  let checkpoint = row.checkpoint;
  for (let resumes = 0; ; resumes++) {
    try {
      return await def.run(contextFor(checkpoint));
    } catch (err) {
      if (!isTransientDbError(err) || signal.aborted || lease.lost() || resumes >= MAX_DB_RESUMES) throw err;
      logger?.warn({ jobId: row.id, err: describeDbError(err) }, 'database connection lost during a job; resuming from its last checkpoint');
      const fresh = await retryTransientDb(() => repo.getRow(row.id), { maxMs: leaseMs, signal });
      if (!fresh || fresh.state !== 'running' || fresh.lease_owner !== owner) {
        lease.markLost();
        throw new LeaseLostError(row.id);
      }
      checkpoint = fresh.checkpoint;
    }
  }
}

/** Extends the lease every third of its length; says when it was lost or a cancel was requested. */
function startHeartbeat(row: JobRow, opts: ExecuteOptions, on: { lost(): void; cancelRequested(): void }): NodeJS.Timeout {
  const { repo, owner, leaseMs, logger } = opts;
  return setInterval(() => {
    repo
      .heartbeat(row.id, owner, leaseMs)
      .then((h) => {
        if (!h.held) on.lost();
        else if (h.cancelRequested) on.cancelRequested();
      })
      .catch((err) => logger?.warn({ err, jobId: row.id }, 'job heartbeat failed'));
  }, Math.max(50, Math.floor(leaseMs / 3)));
}

/**
 * The context a run of the job gets, from a checkpoint: progress writes are coalesced (one per
 * 250 ms within a phase, always at a phase change or the end) and carry the ETA.
 */
function createContextFactory(row: JobRow, opts: ExecuteOptions, signal: AbortSignal, isCancelled: () => boolean): (checkpoint: string | null) => JobContext {
  const { repo, owner, clock } = opts;
  const eta = createEtaEstimator(clock);
  let lastWrite = 0;
  let lastPhase = row.phase;
  let current: JobProgress = { phase: row.phase, done: Number(row.done), total: row.total === null ? null : Number(row.total) };
  return (checkpoint) => ({
    jobId: row.id,
    integrationId: row.integration_id,
    params: JSON.parse(row.params) as Record<string, unknown>,
    checkpoint: checkpoint ? (JSON.parse(checkpoint) as unknown) : null,
    attempt: Number(row.attempts),
    startedAt: row.started_at ?? clock().toISOString(),
    signal,
    isCancelled,
    async saveCheckpoint(cp, progress) {
      if (signal.aborted) throw signal.reason;
      if (progress) current = progress;
      await repo.checkpoint(row.id, owner, cp, progress, progress ? eta(progress) : null);
      lastWrite = clock().getTime();
    },
    async progress(phase, done, total) {
      current = { phase, done, total };
      const e = eta(current);
      const t = clock().getTime();
      if (phase === lastPhase && t - lastWrite < 250 && done !== total) return;
      lastPhase = phase;
      lastWrite = t;
      await repo.progress(row.id, owner, current, e);
    },
  });
}

/** A job this process is running, with a way to stop it at once when it is cancelled. */
export interface LocalJob {
  promise: Promise<void>;
  control?: { cancel(): void };
}

/**
 * Runs a claimed job in this process and keeps it in `running` until it ends, so both runners
 * can cancel it at once and wait for it on shutdown. Resolves or rejects with {@link executeJob}.
 */
export function startLocalJob(
  running: Map<string, LocalJob>,
  row: JobRow,
  def: AnyJobDefinition,
  opts: Omit<ExecuteOptions, 'onController'>,
): Promise<void> {
  const entry: LocalJob = { promise: Promise.resolve() };
  entry.promise = executeJob(row, def, { ...opts, onController: (c) => (entry.control = c) }).finally(() => running.delete(row.id));
  running.set(row.id, entry);
  return entry.promise;
}
