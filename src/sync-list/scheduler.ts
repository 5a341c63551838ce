import type { Logger } from 'pino';
import type { JobRunner } from '../jobs/types.js';
import type { SyncListRepository } from './sync-list-repository.js';

/** How often every instance looks for due schedules. */
export const SCHEDULER_TICK_MS = 60_000;

/**
 * The next time a schedule is due after `now`: whole periods after the time it was due, so a
 * schedule missed while every instance was down runs once, not once per missed period.
 */
export function nextDue(dueAt: string, everyMinutes: number, now: Date): string {
  const period = everyMinutes * 60_000;
  const due = Date.parse(dueAt);
  const periods = Math.max(1, Math.floor((now.getTime() - due) / period) + 1);
  return new Date(due + periods * period).toISOString();
}

export interface SyncScheduler {
  /**
   * Enqueues a `sync_list_sync` for every integration whose schedule is due; returns those it
   * enqueued. A due integration that is not connected (no token) moves to its next time without a
   * run: a run could only fail, once per period, until someone connects it again.
   */
  tick(): Promise<string[]>;
  start(): void;
  /** Stops ticking and waits for a tick in progress. */
  stop(): Promise<void>;
}

/**
 * The sync list's schedule, run in every instance. Each tick moves every due schedule to its next
 * time with a compare-and-set (`advanceSchedule`): of several instances ticking at once, exactly
 * one wins each due schedule and enqueues the run. The jobs table's one-active-job index is the
 * second guard: a run still going when the next one is due is not doubled.
 */
export function createSyncScheduler(deps: {
  repo: Pick<SyncListRepository, 'dueSchedules' | 'advanceSchedule'>;
  enqueue(integrationId: string): Promise<unknown>;
  /** Whether the integration has a token to sync with; without it the due run is skipped (logged). */
  isConnected?(integrationId: string): Promise<boolean>;
  clock: () => Date;
  logger?: Logger;
  tickMs?: number;
}): SyncScheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function tick(): Promise<string[]> {
    const now = deps.clock();
    const enqueued: string[] = [];
    for (const due of await deps.repo.dueSchedules(now.toISOString())) {
      if (!(await deps.repo.advanceSchedule(due.integrationId, due.nextSyncAt, nextDue(due.nextSyncAt, due.everyMinutes, now)))) continue;
      try {
        if (deps.isConnected && !(await deps.isConnected(due.integrationId))) {
          deps.logger?.info({ integrationId: due.integrationId }, 'scheduled sync list run skipped: the integration is not connected (Generate Keys)');
          continue;
        }
        await deps.enqueue(due.integrationId);
        enqueued.push(due.integrationId);
      } catch (err) {
        deps.logger?.warn({ err, integrationId: due.integrationId }, 'could not enqueue the scheduled sync list run');
      }
    }
    return enqueued;
  }

  const runTick = () => {
    if (running) return;
    running = tick()
      .catch((err: unknown) => deps.logger?.warn({ err }, 'the sync list schedule tick failed'))
      .finally(() => (running = undefined));
  };

  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(runTick, deps.tickMs ?? SCHEDULER_TICK_MS);
      timer.unref();
      runTick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

/**
 * The runner with the scheduler attached: `start()` starts the jobs, then the ticks; `stop()` stops
 * the ticks before the jobs, so no run is enqueued by an instance that is shutting down.
 */
export function withSyncScheduler(runner: JobRunner, scheduler: SyncScheduler): JobRunner {
  return {
    ...runner,
    async start() {
      await runner.start();
      scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      await runner.stop();
    },
  };
}
