import type { Logger } from 'pino';
import type { Store } from '../store/database.js';
import { ALL_INTEGRATIONS } from './health-check-job.js';
import { createInProcessRunner } from './in-process-runner.js';
import type { JobRepository } from './job-repository.js';
import { createPgBossRunner } from './pg-boss-runner.js';
import type { AnyJobDefinition, JobRunner } from './types.js';

export interface CreateJobRunnerDeps {
  store: Pick<Store, 'dialect'>;
  /** Postgres connection string (pg-boss opens its own pool). */
  postgresUrl?: string;
  repo: JobRepository;
  definitions: AnyJobDefinition[];
  clock?: () => Date;
  logger?: Logger;
  /** 0 turns the scheduled health check off. */
  healthCheckIntervalMinutes: number;
}

/**
 * Picks the runner for the store: pg-boss on Postgres (several instances share the work), the
 * in-process leasing runner on SQLite. Both schedule a `health_check` of every connected
 * integration every `healthCheckIntervalMinutes` (pg-boss cron on Postgres, a timer on SQLite).
 */
export function createJobRunner(deps: CreateJobRunnerDeps): JobRunner {
  const hasHealth = deps.definitions.some((d) => d.kind === 'health_check');
  const every = hasHealth ? deps.healthCheckIntervalMinutes : 0;
  if (deps.store.dialect === 'postgres') {
    if (!deps.postgresUrl) throw new Error('createJobRunner: postgresUrl is required on Postgres');
    let runner: JobRunner;
    runner = createPgBossRunner({
      repo: deps.repo,
      definitions: deps.definitions,
      connectionString: deps.postgresUrl,
      clock: deps.clock,
      logger: deps.logger,
      tick: every > 0 ? { everyMinutes: every, onTick: async () => void (await runner.enqueue('health_check', ALL_INTEGRATIONS, {})) } : undefined,
    });
    return runner;
  }
  const inner = createInProcessRunner({ repo: deps.repo, definitions: deps.definitions, clock: deps.clock, logger: deps.logger });
  let timer: NodeJS.Timeout | undefined;
  return {
    ...inner,
    async start() {
      await inner.start();
      if (every > 0) {
        timer = setInterval(() => {
          void deps.repo
            .active(ALL_INTEGRATIONS, 'health_check')
            .then((a) => (a ? undefined : inner.enqueue('health_check', ALL_INTEGRATIONS, {})))
            .catch((err) => deps.logger?.warn({ err }, 'could not schedule the health check'));
        }, every * 60_000);
        timer.unref();
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      await inner.stop();
    },
  };
}
