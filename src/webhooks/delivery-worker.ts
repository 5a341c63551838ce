/**
 * The delivery worker: polls the outbox, claims due messages (several instances on one Postgres
 * database never claim the same row; see the repository's `claimDue`), sends each, and records the
 * outcome with the next retry or the end. The outbox is the source: a message written by a process
 * that died before sending is sent by whichever worker polls next, after a restart included.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { webhookDeliveries, webhookLag } from '../metrics/metrics.js';
import type { Vault } from '../vault/vault.js';
import { DELIVERY_TIMEOUT_MS, MAX_ATTEMPTS, RETRY_DELAYS_MS, sendMessage } from './delivery.js';
import { SECRET_AAD } from './webhooks-service.js';
import type { DeliveryRow, EndpointRow, WebhooksRepository } from './webhooks-repository.js';

export interface DeliveryWorkerDeps {
  repo: WebhooksRepository;
  vault: Pick<Vault, 'decrypt'>;
  /** The guarded fetch (every webhook URL goes through the outbound guard when connecting). */
  fetch: typeof globalThis.fetch;
  clock: () => Date;
  logger?: Logger;
  /** How often the outbox is polled (default 1 s). */
  pollMs?: number;
  /** Messages sent at once (default 8). */
  batch?: number;
  timeoutMs?: number;
}

export interface DeliveryWorker {
  start(): void;
  /** Stops polling and waits for the sends in flight (each ends within the timeout). */
  stop(): Promise<void>;
  /** Looks at the outbox soon, instead of at the next poll. */
  kick(): void;
  /** One poll: claims and sends what is due now; resolves when those sends are recorded. Returns how many. */
  runOnce(): Promise<number>;
}

/** How long finished deliveries stay in the log. */
export const DELIVERY_LOG_RETENTION_MS = 30 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

/** Creates the worker (not started). */
export function createDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { repo, vault, logger } = deps;
  const pollMs = deps.pollMs ?? 1_000;
  const batch = deps.batch ?? 8;
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  // A claim outlives the longest send, so a live worker never loses its row to another.
  const claimMs = timeoutMs + 20_000;
  const userAgent = `canvas-companion-webhooks/0.1 (${hostname()})`;
  let timer: NodeJS.Timeout | undefined;
  let kickTimer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let started = false;
  let prunedAt = 0;

  async function deliver(row: DeliveryRow, endpoint: EndpointRow | undefined, claim: string): Promise<void> {
    const now = deps.clock();
    if (!endpoint || endpoint.disabled_at) {
      await repo.recordAttempt(row.id, claim, { status: 'dead', nextAttemptAt: null, statusCode: null, error: 'The endpoint was disabled or deleted.', at: now.toISOString() });
      return;
    }
    const result = await sendMessage(deps.fetch, { url: endpoint.url, secret: vault.decrypt(endpoint.secret_enc, SECRET_AAD), id: row.id, body: row.payload, at: now, timeoutMs, userAgent });
    const at = deps.clock();
    const attempt = Number(row.attempt) + 1;
    if (result.ok) {
      await repo.recordAttempt(row.id, claim, { status: 'delivered', nextAttemptAt: null, statusCode: result.statusCode, error: null, at: at.toISOString() });
      await repo.setFailingSince(endpoint.id, null);
      webhookDeliveries.inc({ outcome: 'delivered' });
      webhookLag.observe(Math.max(0, (at.getTime() - Date.parse(row.created_at)) / 1000));
      return;
    }
    await repo.setFailingSince(endpoint.id, at.toISOString());
    if (attempt < MAX_ATTEMPTS) {
      const next = new Date(at.getTime() + RETRY_DELAYS_MS[attempt - 1]!).toISOString();
      await repo.recordAttempt(row.id, claim, { status: 'failed', nextAttemptAt: next, statusCode: result.statusCode, error: result.error, at: at.toISOString() });
      webhookDeliveries.inc({ outcome: 'failed' });
      return;
    }
    if (attempt > MAX_ATTEMPTS) {
      // A redelivery asked for by staff after the schedule ran out: one try, and the endpoint stays on.
      await repo.recordAttempt(row.id, claim, { status: 'failed', nextAttemptAt: null, statusCode: result.statusCode, error: result.error, at: at.toISOString() });
      webhookDeliveries.inc({ outcome: 'failed' });
      return;
    }
    await repo.recordAttempt(row.id, claim, { status: 'dead', nextAttemptAt: null, statusCode: result.statusCode, error: result.error, at: at.toISOString() });
    webhookDeliveries.inc({ outcome: 'dead' });
    const since = (await repo.getEndpoint(endpoint.id))?.failing_since ?? row.created_at;
    const reason = `Disabled after ${MAX_ATTEMPTS} failed attempts over ${hoursBetween(row.created_at, at)} to deliver ${row.event} message ${row.id}; failing since ${since}. Last error: ${result.error}`;
    await repo.disable(endpoint.id, at.toISOString(), reason);
    logger?.warn({ endpointId: endpoint.id, deliveryId: row.id }, 'webhook endpoint disabled after its retry budget ran out');
  }

  async function runOnce(): Promise<number> {
    const now = deps.clock();
    if (now.getTime() - prunedAt >= PRUNE_EVERY_MS) {
      // The delivery log keeps 30 days; older finished rows go, a bounded batch per hour.
      prunedAt = now.getTime();
      await repo.pruneFinished(new Date(now.getTime() - DELIVERY_LOG_RETENTION_MS).toISOString(), 5_000);
    }
    const claim = new Date(now.getTime() + claimMs).toISOString();
    const rows = await repo.claimDue(now.toISOString(), claim, batch);
    if (rows.length === 0) return 0;
    const endpoints = new Map<string, EndpointRow | undefined>();
    for (const id of new Set(rows.map((r) => r.endpoint_id))) endpoints.set(id, await repo.getEndpoint(id));
    await Promise.all(
      rows.map((r) =>
        deliver(r, endpoints.get(r.endpoint_id), claim).catch((err: unknown) => logger?.error({ err, deliveryId: r.id }, 'webhook delivery could not be recorded; it is retried when its claim expires')),
      ),
    );
    return rows.length;
  }

  /** Runs polls back to back while each finds a full batch (a backlog drains without waiting for the timer). */
  function poll(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      let total = 0;
      for (;;) {
        again = false;
        const n = await runOnce();
        total += n;
        if (!started || (n < batch && !again)) return total;
      }
    })()
      .catch((err: unknown) => {
        logger?.warn({ err }, 'webhook outbox poll failed');
        return 0;
      })
      .finally(() => (running = undefined));
  }

  return {
    start() {
      if (started) return;
      started = true;
      timer = setInterval(poll, pollMs);
      timer.unref();
      poll();
    },
    async stop() {
      started = false;
      if (timer) clearInterval(timer);
      if (kickTimer) clearTimeout(kickTimer);
      timer = kickTimer = undefined;
      await running;
    },
    kick() {
      if (!started || kickTimer) return;
      kickTimer = setTimeout(() => {
        kickTimer = undefined;
        poll();
      }, 50);
      kickTimer.unref();
    },
    runOnce,
  };
}

function hoursBetween(fromIso: string, to: Date): string {
  const h = (to.getTime() - Date.parse(fromIso)) / 3_600_000;
  return h >= 1 ? `${h.toFixed(1)} hours` : `${Math.round(h * 60)} minutes`;
}
