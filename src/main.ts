import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { withEnvFile } from './config/env-file.js';
import { createContainer } from './container.js';
import { shutdownInOrder } from './http/graceful-shutdown.js';
import { isTransientDbError } from './store/database.js';

/**
 * Until the server listens, any exit is a failed start: a library that calls `process.exit()`
 * without a code must not look like success to a supervisor.
 */
let started = false;
let reported = false;
process.exitCode = 1;
process.on('exit', (code) => {
  if (!started && !reported) process.stderr.write(`canvas-companion stopped during start-up (exit code ${code}) without saying why\n`);
});

/**
 * The only file that listens. Any start-up failure prints its reason and exits 1. Bad configuration prints every problem and exits 1. SIGTERM/SIGINT
 * shut down in order (see {@link shutdownInOrder}): readiness 503, jobs handed back, in-flight
 * requests finished, container closed, exit 0; a second signal cuts the remaining requests.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(withEnvFile(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      reported = true;
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const container = await createContainer(config);
  const app = createApp(container);
  // Jobs (course refresh, roster sync, scheduled health checks) run in this process; SQLite: leased polling, Postgres: pg-boss.
  await container.sync.runner.start();
  container.onClose(() => container.sync.runner.stop());
  // Webhook deliveries: the outbox is polled from now on (messages written before a crash go out too).
  container.webhooks.worker.start();
  const server: Server = app.listen(config.port, () => {
    started = true;
    process.exitCode = 0;
    container.logger.info({ port: config.port, publicUrl: config.publicUrl, database: config.database.kind }, 'canvas-companion listening');
  });
  server.on('error', (err) => {
    container.logger.fatal({ err }, 'server failed');
    void container.close().finally(() => process.exit(1));
  });

  // A library that fires a database write without awaiting it (pg-boss completes handled jobs that
  // way) rejects when the connection was just lost: log it and go on; anything else still ends the process.
  process.on('unhandledRejection', (reason) => {
    if (isTransientDbError(reason)) {
      container.logger.warn({ err: reason }, 'a background database write failed (connection lost); it is retried by the job machinery');
      return;
    }
    container.logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });

  let stopping = false;
  const force = new AbortController();
  const stop = (signal: string) => {
    if (stopping) {
      force.abort();
      return;
    }
    stopping = true;
    container.logger.info({ signal }, 'shutting down: jobs first, then in-flight requests');
    shutdownInOrder({
      server,
      markStopping: () => container.readiness.markStopping(),
      stopJobs: async () => {
        await Promise.all([container.sync.runner.stop(), container.webhooks.worker.stop()]);
      },
      close: () => container.close(),
      logger: container.logger,
      force: force.signal,
    })
      .then(() => {
        container.logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        container.logger.error({ err }, 'error while closing');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  reported = true;
  process.stderr.write(`canvas-companion failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
