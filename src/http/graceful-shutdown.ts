import type { Server } from 'node:http';
import type { Logger } from '../logger/logger.js';

/**
 * Stops accepting connections and resolves once in-flight requests have finished. Idle keep-alive
 * connections are closed at once; after `graceMs` any remaining connection is cut so a stuck
 * request cannot block the shutdown forever.
 */
export function stopServer(server: Server, opts: { graceMs: number; logger: Logger }): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => {
      opts.logger.warn({ graceMs: opts.graceMs }, 'in-flight requests did not finish in time; closing connections');
      server.closeAllConnections();
    }, opts.graceMs);
    force.unref();
    // A connection whose request finishes during shutdown turns idle; close it then, not after keep-alive.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close((err) => {
      clearTimeout(force);
      clearInterval(sweep);
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
