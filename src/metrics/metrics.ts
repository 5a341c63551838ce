/**
 * The process's Prometheus metrics (prom-client): one registry per process, because one process is
 * one scrape target. Adapters and services record into the families below; `/metrics` renders the
 * registry. Recording never throws and costs a map lookup, so it is safe on every Canvas request.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The registry `/metrics` renders: the families below plus Node's default process metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Jobs that reached a final state, by kind and outcome (succeeded, failed, cancelled). */
export const jobsFinished = new Counter({
  name: 'canvas_companion_jobs_finished_total',
  help: 'Jobs that reached a final state, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

/** How long jobs ran, from their first start to their final state. */
export const jobDuration = new Histogram({
  name: 'canvas_companion_job_duration_seconds',
  help: 'Job run time from first start to the final state, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
  registers: [registry],
});

/** Every HTTP exchange with Canvas, by declared endpoint id and status (or `network`, `timeout`, `refused`). */
export const canvasRequests = new Counter({
  name: 'canvas_companion_canvas_requests_total',
  help: 'Canvas API requests by endpoint id and HTTP status (network, timeout or refused when no answer came)',
  labelNames: ['endpoint', 'status'] as const,
  registers: [registry],
});

/** Seconds spent waiting because of Canvas's rate limit: in the throttle governor, or backing off after a 403 throttled. */
export const throttleWait = new Histogram({
  name: 'canvas_companion_canvas_throttle_wait_seconds',
  help: 'Seconds a Canvas request waited for the rate limit (source: governor or backoff)',
  labelNames: ['source'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
  registers: [registry],
});

throttleWait.zero({ source: 'governor' });
throttleWait.zero({ source: 'backoff' });

/** Webhook delivery attempts by outcome (delivered, failed, dead). */
export const webhookDeliveries = new Counter({
  name: 'canvas_companion_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome: delivered, failed (retried later) or dead (given up)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

for (const outcome of ['delivered', 'failed', 'dead']) webhookDeliveries.inc({ outcome }, 0);

/** From the moment an event was written to the outbox to its successful delivery. */
export const webhookLag = new Histogram({
  name: 'canvas_companion_webhook_delivery_lag_seconds',
  help: 'Seconds from writing a webhook message to the outbox to its successful delivery',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300, 3600, 86400],
  registers: [registry],
});

/** Counts integrations by connection state; read on scrape through {@link setIntegrationStateSource}. */
export type IntegrationStateCounts = Record<string, number>;

let stateSource: (() => Promise<IntegrationStateCounts>) | undefined;
let cached: { at: number; counts: IntegrationStateCounts } | undefined;
let inflight: Promise<IntegrationStateCounts> | undefined;
/** How long one count of integrations by state serves scrapes. */
const STATE_CACHE_MS = 5_000;

/**
 * Integrations by state. Collected on scrape, but from a count cached for a few seconds and
 * shared by concurrent scrapes, so a burst of scrapes costs at most one query.
 */
export const integrationsByState = new Gauge({
  name: 'canvas_companion_integrations',
  help: 'Integrations by connection state (counted at most every 5 s)',
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    if (!stateSource) return;
    const now = Date.now();
    if (!cached || now - cached.at > STATE_CACHE_MS) {
      try {
        inflight ??= stateSource().finally(() => (inflight = undefined));
        cached = { at: now, counts: await inflight };
      } catch {
        // A failed count (database away) keeps the last known figures rather than failing the scrape.
        if (!cached) return;
      }
    }
    this.reset();
    for (const [state, n] of Object.entries(cached.counts)) this.set({ state }, n);
  },
});

/**
 * Sets where {@link integrationsByState} reads its counts (the composition root passes the
 * integrations repository's count). Returns the detach function for when that container closes;
 * it detaches only if no later container has set its own source since.
 */
export function setIntegrationStateSource(source: () => Promise<IntegrationStateCounts>): () => void {
  stateSource = source;
  cached = undefined;
  return () => {
    if (stateSource !== source) return;
    stateSource = undefined;
    cached = undefined;
  };
}

/** The Prometheus text exposition of every family, and its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
