import type { Server } from 'node:http';
import type { Logger } from '../logger/logger.js';

/** How long each shutdown step may take (defaults in {@link SHUTDOWN_TIMEOUTS}). */
export interface ShutdownTimeouts {
  /** Running jobs: checkpoint, release the lease, hand the job to another instance. */
  jobsMs: number;
  /** In-flight HTTP requests. */
  requestsMs: number;
}

/** 10 s for jobs + 15 s for requests: the whole shutdown fits a 30 s kill grace period (Kubernetes' default). */
export const SHUTDOWN_TIMEOUTS: ShutdownTimeouts = { jobsMs: 10_000, requestsMs: 15_000 };

/**
 * Stops accepting connections and resolves once in-flight requests have finished. Idle keep-alive
 * connections are closed at once, and every answer sent from now on carries `Connection: close`, so
 * a client (or proxy) never sends another request on a connection that is about to close. After
 * `graceMs`, or at once when `force` is aborted (a second signal), remaining connections are cut
 * so a stuck request cannot block the shutdown forever.
 */
export function stopServer(server: Server, opts: { graceMs: number; logger: Logger; force?: AbortSignal }): Promise<void> {
  return new Promise((resolve, reject) => {
    const cut = (why: string) => {
      opts.logger.warn({ graceMs: opts.graceMs, why }, 'in-flight requests did not finish; closing their connections');
      server.closeAllConnections();
    };
    const force = setTimeout(() => cut('grace period over'), opts.graceMs);
    force.unref();
    const onForce = () => cut('forced');
    opts.force?.addEventListener('abort', onForce, { once: true });
    const closeAfterAnswer = (_req: unknown, res: { headersSent: boolean; setHeader(n: string, v: string): void }) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    server.prependListener('request', closeAfterAnswer);
    // A connection whose request finishes during shutdown turns idle; close it then, not after keep-alive.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close((err) => {
      clearTimeout(force);
      clearInterval(sweep);
      opts.force?.removeEventListener('abort', onForce);
      server.removeListener('request', closeAfterAnswer);
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    server.closeIdleConnections();
    if (opts.force?.aborted) onForce();
  });
}

/**
 * The shutdown order for one instance (SIGTERM):
 * 1. `/readyz` answers 503 (`markStopping`), so the load balancer stops routing here;
 * 2. jobs: stop claiming work, let running jobs checkpoint and release their lease so another
 *    instance takes them over at once (`stopJobs`, at most `timeouts.jobsMs`; a job that does
 *    not stop in time keeps its lease until it expires, then resumes elsewhere from its checkpoint);
 *    the webhook delivery worker stops polling in the same step and finishes the sends in flight
 *    (an unsent message stays in the outbox for the next instance);
 * 3. HTTP: refuse new connections, finish in-flight requests (at most `timeouts.requestsMs`);
 * 4. close the rest (session store, database pools: `close`).
 * Requests keep being served normally during step 2. Resolves when everything is closed.
 */
export async function shutdownInOrder(steps: {
  server: Server;
  markStopping(): void;
  stopJobs(): Promise<void>;
  close(): Promise<void>;
  logger: Logger;
  timeouts?: ShutdownTimeouts;
  force?: AbortSignal;
}): Promise<void> {
  const timeouts = steps.timeouts ?? SHUTDOWN_TIMEOUTS;
  const { logger } = steps;
  const t0 = Date.now();
  steps.markStopping();
  let timer: NodeJS.Timeout | undefined;
  const jobs = await Promise.race([
    steps.stopJobs().then(
      () => 'released' as const,
      (err: unknown) => {
        logger.error({ err }, 'stopping the jobs failed');
        return 'failed' as const;
      },
    ),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeouts.jobsMs))),
  ]);
  clearTimeout(timer);
  logger.info({ jobs, ms: Date.now() - t0 }, 'shutdown: jobs handed back; finishing in-flight requests');
  await stopServer(steps.server, { graceMs: timeouts.requestsMs, logger, force: steps.force });
  logger.info({ ms: Date.now() - t0 }, 'shutdown: requests finished; closing');
  await steps.close();
}
