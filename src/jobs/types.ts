/**
 * The job contract: what a job record looks like to the UI/API, what a job
 * definition gets while it runs, and the one runner interface both runners (in-process on SQLite,
 * pg-boss on Postgres) implement. The `jobs` table is the source of truth for both.
 */
import type { JobErrorCode } from '../errors/error-codes.js';

import type { JobKind, JobParams, JobSummary } from './job-kinds.js';

export { JOB_KINDS, type JobKind, type JobParams, type JobSummary } from './job-kinds.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobProgress {
  phase: string;
  done: number;
  total: number | null;
}

/** A job as the API and the pages see it. */
export interface Job {
  id: string;
  kind: JobKind;
  integrationId: string;
  state: JobState;
  params: Record<string, unknown>;
  progress: JobProgress;
  etaSeconds: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
  summary: Record<string, unknown> | null;
  attempts: number;
}

/** What a running job definition may use. */
export interface JobContext<P = Record<string, unknown>, C = unknown> {
  jobId: string;
  integrationId: string;
  params: P;
  /** The last saved checkpoint (from an earlier, interrupted attempt), or null on a fresh start. */
  checkpoint: C | null;
  /** 1 on the first attempt; higher when resuming after a crash or lease expiry. */
  attempt: number;
  /** When the first attempt started (ISO; kept across resumes). */
  startedAt: string;
  /** Persists the checkpoint (and optionally progress) durably before returning. */
  saveCheckpoint(checkpoint: C, progress?: JobProgress): Promise<void>;
  /** Records progress; cheap to call often (writes are coalesced). */
  progress(phase: string, done: number, total: number | null): Promise<void>;
  /** True once a cancel was requested (or the runner is shutting down). */
  isCancelled(): boolean;
  /** Aborted on cancel, shutdown or a lost lease; pass it to long waits. */
  signal: AbortSignal;
}

/** The handler of one kind: typed by the registry (`job-kinds.ts`), with its own checkpoint type `C`. */
export interface JobDefinition<K extends JobKind, C = unknown> {
  kind: K;
  /** Does the work; returns the summary (counts) stored on success. Throws to fail the job. */
  run(ctx: JobContext<JobParams<K>, C>): Promise<JobSummary<K>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<JobKind, any>;

/** Both runners. `start()` begins taking work; `stop()` hands running jobs back (they resume later). */
export interface JobRunner {
  /** Queues a job of `kind` with that kind's parameters (the compiler checks them against the registry). */
  enqueue<K extends JobKind>(kind: K, integrationId: string, params: JobParams<K>): Promise<Job>;
  /** Cancels a queued job at once, or asks a running one to stop; returns the job, or undefined if unknown. */
  cancel(id: string): Promise<Job | undefined>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A failure with a code the admin can act on (a connection reason where one applies). The message
 * is what the job stores and shows; recognised by its class (`instanceof`), never by its name.
 */
export class JobFailure extends Error {
  constructor(
    readonly code: JobErrorCode,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'JobFailure';
  }
}
