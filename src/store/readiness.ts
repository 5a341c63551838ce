import { Migrator, sql, type Kysely } from 'kysely';
import type { Logger } from '../logger/logger.js';
import { describeDbError } from './database.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

/** What `/readyz` answers from: never a database round trip of its own. */
export interface ReadinessProbe {
  /** Checks the migrations once and runs the first probe; then probes every `intervalMs`. */
  start(): Promise<void>;
  stop(): void;
  /** The cached verdict: migrations applied, the last probe answered recently, not shutting down. */
  status(): { ready: boolean; reason: 'ready' | 'starting' | 'migrations_pending' | 'database_unreachable' | 'stopping' };
  /** Shutdown began: answer "not ready" from now on so load balancers stop sending traffic. */
  markStopping(): void;
  /** Runs one probe now and waits for it (tests, and the first answer at start). */
  probe(): Promise<boolean>;
}

/**
 * A background readiness check: `select 1` every `intervalMs` (2 s by default), each bounded by
 * `timeoutMs`, so a probe never piles up behind a database that does not answer and `/readyz`
 * answers from memory at any load. Ready means: migrations were all applied when the probe
 * started, the last probe answered within `timeoutMs`, and it is not older than 3 intervals.
 */
export function createReadinessProbe(
  db: Kysely<Database>,
  opts: { intervalMs?: number; timeoutMs?: number; logger?: Logger; now?: () => number } = {},
): ReadinessProbe {
  const intervalMs = opts.intervalMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? Math.min(1000, intervalMs);
  const now = opts.now ?? Date.now;
  let migrationsOk: boolean | undefined;
  let lastOkAt: number | undefined;
  let lastOk = false;
  let stopping = false;
  let probed = false;
  let inFlight: Promise<boolean> | undefined;
  // The database query itself: a probe that timed out leaves it running, and the next probe waits
  // on that same query instead of queueing another one behind it.
  let query: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function probeOnce(): Promise<boolean> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      const answered = await Promise.race([
        (query ??= sql`select 1`
          .execute(db)
          .then(() => true)
          .finally(() => (query = undefined))),
        new Promise<boolean>((r) => (timeout = setTimeout(() => r(false), timeoutMs))),
      ]);
      if (answered && !lastOk) opts.logger?.info('database reachable: ready');
      if (!answered && lastOk) opts.logger?.warn({ timeoutMs }, 'database did not answer in time: not ready');
      lastOk = answered;
      if (answered) lastOkAt = now();
    } catch (err) {
      if (lastOk) opts.logger?.warn({ err: describeDbError(err) }, 'database unreachable: not ready');
      lastOk = false;
    } finally {
      clearTimeout(timeout);
      probed = true;
    }
    return lastOk;
  }

  const probe = (): Promise<boolean> => (inFlight ??= probeOnce().finally(() => (inFlight = undefined)));

  return {
    async start() {
      try {
        const migrations = await new Migrator({ db, provider: migrationProvider }).getMigrations();
        migrationsOk = migrations.every((m) => m.executedAt !== undefined);
      } catch {
        migrationsOk = undefined; // checked again on the next probe
      }
      await probe();
      timer ??= setInterval(() => {
        void (async () => {
          if (migrationsOk === undefined) {
            const migrations = await new Migrator({ db, provider: migrationProvider }).getMigrations().catch(() => undefined);
            if (migrations) migrationsOk = migrations.every((m) => m.executedAt !== undefined);
          }
          await probe();
        })();
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    status() {
      if (stopping) return { ready: false, reason: 'stopping' };
      if (!probed) return { ready: false, reason: 'starting' };
      const fresh = lastOk && lastOkAt !== undefined && now() - lastOkAt <= 3 * intervalMs;
      if (!fresh) return { ready: false, reason: 'database_unreachable' };
      if (!migrationsOk) return { ready: false, reason: 'migrations_pending' };
      return { ready: true, reason: 'ready' };
    },
    markStopping() {
      stopping = true;
    },
    probe,
  };
}
