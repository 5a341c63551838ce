import type { WebhookDelivery, WebhookEndpoint } from '../../webhooks/webhooks-service.js';

/** An endpoint for the API and the pages: never its secret. */
export function presentWebhook(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    integrationId: e.integrationId,
    createdAt: e.createdAt,
    enabled: e.disabledAt === null,
    disabledAt: e.disabledAt,
    disabledReason: e.disabledReason,
    failingSince: e.failingSince,
  };
}

/** A delivery log row: `at` is when the message was written to the outbox. */
export function presentDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    event: d.event,
    attempt: d.attempt,
    status: d.status,
    at: d.createdAt,
    nextAttemptAt: d.nextAttemptAt,
    deliveredAt: d.deliveredAt,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
  };
}
