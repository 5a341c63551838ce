/**
 * Webhooks for the exam platform: endpoints (created with a `whsec_…` secret shown once), the
 * outbox every event is written to (in the transaction of the change it announces, where there
 * is one), the delivery log and redelivery. The worker that sends the outbox is
 * `delivery-worker.ts`. Every entry point (pages, API, CLI) calls this service, which records the
 * audit entries.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { AppError, invalid } from '../errors/app-error.js';
import { columnAad, type Vault } from '../vault/vault.js';
import { messagesForChanges, WEBHOOK_EVENTS, type ChangeListenerLike, type WebhookEvent, type WebhookMessage } from './events.js';
import { newMessageId, type DeliveryRow, type EndpointRow, type OutboxTx, type WebhooksRepository } from './webhooks-repository.js';

export const SECRET_AAD = columnAad('webhook_endpoints', 'secret_enc');

/** An endpoint as pages and the API see it (never its secret). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEvent[];
  integrationId: string | null;
  createdAt: string;
  createdBy: string;
  disabledAt: string | null;
  disabledReason: string | null;
  failingSince: string | null;
}

/** One row of the delivery log. */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  event: WebhookEvent;
  attempt: number;
  status: 'pending' | 'delivered' | 'failed' | 'dead';
  createdAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface CreateEndpointInput {
  url: string;
  events: WebhookEvent[];
  integrationId?: string | null;
}

export interface WebhooksService {
  /**
   * Creates an endpoint; the answer carries the signing secret, the only time it is shown.
   * @throws AppError validation_failed (integrationId names no integration)
   */
  create(input: CreateEndpointInput, actor: string): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  list(): Promise<WebhookEndpoint[]>;
  /** @throws AppError not_found */
  get(id: string): Promise<WebhookEndpoint>;
  /** @throws AppError not_found */
  remove(id: string, actor: string): Promise<void>;
  /** Turns a disabled endpoint back on (new events reach it again). @throws AppError not_found */
  enable(id: string, actor: string): Promise<WebhookEndpoint>;
  /** The endpoint's newest deliveries first. @throws AppError not_found */
  deliveries(endpointId: string, limit?: number): Promise<WebhookDelivery[]>;
  /**
   * Sends one delivery again: same message id (`webhook-id`) and body, a new attempt, due now.
   * @throws AppError not_found (unknown endpoint or delivery), conflict (the endpoint is disabled)
   */
  redeliver(endpointId: string, deliveryId: string, actor: string): Promise<WebhookDelivery>;
  /**
   * Writes `msg` to the outbox of every active endpoint subscribed to it, in `tx` when given.
   * Returns the ids written.
   */
  publish(msg: WebhookMessage, tx?: OutboxTx): Promise<string[]>;
  /** The change log's listener: outbox rows for an append, written in the append's transaction. */
  changeListener: ChangeListenerLike;
}

export interface WebhooksServiceDeps {
  repo: WebhooksRepository;
  vault: Pick<Vault, 'encrypt'>;
  audit: Pick<AuditLog, 'record'>;
  clock: () => Date;
  logger?: Logger;
  /** Whether an integration exists (an endpoint for an unknown integration is refused). */
  integrationExists?: (id: string) => Promise<boolean>;
  /** Told after rows were written outside a transaction (the worker looks at once instead of at its next poll). */
  onPublished?: () => void;
}

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    events: (JSON.parse(r.events) as string[]).filter((e): e is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(e)),
    integrationId: r.integration_id,
    createdAt: r.created_at,
    createdBy: r.created_by,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    failingSince: r.failing_since,
  };
}

/** Turns an outbox row into the delivery log's shape. */
export function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    event: r.event as WebhookEvent,
    attempt: Number(r.attempt),
    status: r.status as WebhookDelivery['status'],
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
    lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
    lastError: r.last_error,
  };
}

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Builds the service. */
export function createWebhooksService(deps: WebhooksServiceDeps): WebhooksService {
  const { repo, vault, audit, clock } = deps;

  const mustGet = async (id: string) => {
    const row = await repo.getEndpoint(id);
    if (!row) throw new AppError('not_found', 'No such webhook endpoint.');
    return row;
  };

  async function publish(msg: WebhookMessage, tx?: OutboxTx): Promise<string[]> {
    const endpoints = (await repo.activeEndpointsFor(tx, msg.integrationId)).filter((e) => toEndpoint(e).events.includes(msg.event));
    if (endpoints.length === 0) return [];
    const at = clock().toISOString();
    const rows: DeliveryRow[] = endpoints.map((e) => {
      const id = newMessageId();
      return {
        id,
        endpoint_id: e.id,
        event: msg.event,
        payload: JSON.stringify({ type: msg.event, timestamp: at, data: msg.data }),
        attempt: 0,
        status: 'pending',
        next_attempt_at: at,
        last_status_code: null,
        last_error: null,
        created_at: at,
        delivered_at: null,
        claimed_until: null,
      };
    });
    await repo.insertDeliveries(tx, rows);
    // In a transaction the rows are visible once it commits: the kick is early at worst, and the next poll finds them.
    deps.onPublished?.();
    return rows.map((r) => r.id);
  }

  return {
    async create(input, actor) {
      if (input.integrationId && deps.integrationExists && !(await deps.integrationExists(input.integrationId))) {
        throw invalid('integrationId', 'names no integration', 'Leave it out to receive the events of every integration.');
      }
      const secret = newSecret();
      const row: EndpointRow = {
        id: randomUUID(),
        url: input.url,
        events: JSON.stringify([...new Set(input.events)]),
        integration_id: input.integrationId ?? null,
        secret_enc: vault.encrypt(secret, SECRET_AAD),
        created_at: clock().toISOString(),
        created_by: actor,
        disabled_at: null,
        disabled_reason: null,
        failing_since: null,
      };
      await repo.insertEndpoint(row);
      const endpoint = toEndpoint(row);
      await audit.record({ integrationId: endpoint.integrationId, actor, action: 'webhook.created', detail: { endpointId: endpoint.id, url: endpoint.url, events: endpoint.events } });
      return { endpoint, secret };
    },
    async list() {
      return (await repo.listEndpoints()).map(toEndpoint);
    },
    async get(id) {
      return toEndpoint(await mustGet(id));
    },
    async remove(id, actor) {
      const row = await mustGet(id);
      await repo.deleteEndpoint(id);
      await audit.record({ integrationId: row.integration_id, actor, action: 'webhook.deleted', detail: { endpointId: id, url: row.url } });
    },
    async enable(id, actor) {
      const row = await mustGet(id);
      await repo.enable(id);
      await audit.record({ integrationId: row.integration_id, actor, action: 'webhook.enabled', detail: { endpointId: id, url: row.url } });
      return toEndpoint(await mustGet(id));
    },
    async deliveries(endpointId, limit = 100) {
      await mustGet(endpointId);
      return (await repo.listDeliveries(endpointId, Math.min(Math.max(1, limit), 500))).map(toDelivery);
    },
    async redeliver(endpointId, deliveryId, actor) {
      const endpoint = await mustGet(endpointId);
      const row = await repo.getDelivery(deliveryId);
      if (!row || row.endpoint_id !== endpointId) throw new AppError('not_found', 'No such delivery for this endpoint.');
      if (endpoint.disabled_at) {
        throw new AppError('conflict', 'This endpoint is disabled, so nothing is sent to it.', { help: 'Re-enable the endpoint first, then redeliver.' });
      }
      await repo.requeue(deliveryId, clock().toISOString());
      await audit.record({ integrationId: endpoint.integration_id, actor, action: 'webhook.redelivered', detail: { endpointId, deliveryId, event: row.event } });
      deps.onPublished?.();
      return toDelivery((await repo.getDelivery(deliveryId))!);
    },
    publish,
    changeListener: async (tx, appended) => {
      for (const msg of messagesForChanges(appended)) await publish(msg, tx);
    },
  };
}
