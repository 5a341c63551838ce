import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import type { CourseRefreshParams } from '../jobs/job-kinds.js';
import { JobFailure, type JobContext, type JobProgress } from '../jobs/types.js';
import type { SyncSettings } from './course-repository.js';
import type { SyncDeps } from './sync-deps.js';

/** What the attempts so far have cost; carried in the checkpoint so a resumed job reports the whole run. */
export interface RefreshSpent {
  requests: number;
  throttled: number;
  retries: number;
  durationMs: number;
}

export type RefreshCheckpoint = (
  | { path: 'rest'; phase: 'courses'; nextPage: number; window: number; seen: number; fellBack?: string }
  | { path: 'rest'; phase: 'sections'; seen: number; fellBack?: string }
  | { path: 'bulk'; phase: 'report'; reportId: string }
) & { spent?: RefreshSpent };

export type RestCheckpoint = Extract<RefreshCheckpoint, { path: 'rest' }>;
export type BulkCheckpoint = Extract<RefreshCheckpoint, { path: 'bulk' }>;

export const PER_PAGE = 100;

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts (a cancelled job stops
 * waiting between report polls at once). The jobs' default `sleep`.
 * @throws the signal's reason when it aborts
 */
export const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    // The listener goes with the sleep: a job that sleeps often (report polls) would pile them up on its signal.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The `kind` a Canvas client error carries (`not_found`, `insufficient_scopes`…), if any. */
export function kindOf(err: unknown): string | undefined {
  const k = (err as { kind?: unknown } | null)?.kind;
  return typeof k === 'string' ? k : undefined;
}

/** One refresh attempt: the job's context and what both paths (bulk and REST) share. */
export interface RefreshRun {
  ctx: JobContext<CourseRefreshParams, RefreshCheckpoint>;
  deps: SyncDeps;
  settings: SyncSettings;
  client: CanvasClient;
  auth: AccessTokenSource;
  /** The Canvas account the refresh reads (`self` when the integration names none). */
  account: string;
  clock: () => Date;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  pollDelays: number[];
  reportTimeoutMs: number;
  /** When this attempt started (ms). */
  started: number;
  now(): string;
  /** Earlier attempts' cost plus this one's: every checkpoint carries the sum. */
  spent(): RefreshSpent;
  /** Saves a checkpoint with the run's cost so far, and the progress. */
  save(cp: RefreshCheckpoint, progress: JobProgress): Promise<void>;
}

/**
 * Loads the integration's settings and builds the attempt's client, cost accounting and
 * checkpoint writer.
 * @throws JobFailure `not_found` when the integration no longer exists.
 */
export async function openRefreshRun(deps: SyncDeps, ctx: RefreshRun['ctx']): Promise<RefreshRun> {
  const clock = deps.clock ?? (() => new Date());
  const started = clock().getTime();
  const settings = await deps.courses.getSettings(ctx.integrationId);
  if (!settings) throw new JobFailure('not_found', `Integration ${ctx.integrationId} does not exist.`);
  const client = deps.clientFor(settings);
  const before: RefreshSpent = { requests: 0, throttled: 0, retries: 0, durationMs: 0, ...ctx.checkpoint?.spent };
  const spent = (): RefreshSpent => {
    const s = client.stats();
    return {
      requests: before.requests + s.requests,
      throttled: before.throttled + s.throttled,
      retries: before.retries + s.retries,
      durationMs: before.durationMs + (clock().getTime() - started),
    };
  };
  return {
    ctx,
    deps,
    settings,
    client,
    auth: deps.tokenSourceFor(settings.id),
    account: settings.accountId || 'self',
    clock,
    sleep: deps.sleep ?? abortableSleep,
    pollDelays: deps.reportPollDelaysMs ?? [250, 250, 500, 500, 1000, 1000, 2000, 5000, 10_000],
    reportTimeoutMs: deps.reportTimeoutMs ?? 30 * 60_000,
    started,
    now: () => clock().toISOString(),
    spent,
    save: (c, progress) => ctx.saveCheckpoint({ ...c, spent: spent() }, progress),
  };
}
