import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { outboundUrl, type OutboundPolicy } from '../../net/url-guard.js';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../webhooks/events.js';
import { flash } from '../flash.js';
import { requireStaff } from '../middleware/auth.js';
import { presentDelivery, presentWebhook } from '../presenters/webhook.js';
import { parseInput } from '../validate.js';
import '../session.js';

const eventList = z
  .array(z.string())
  .min(1, { message: `name at least one event (${WEBHOOK_EVENTS.join(', ')})` })
  .superRefine((events, ctx) => {
    const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown event ${unknown.map((e) => `"${e}"`).join(', ')}; the events are ${WEBHOOK_EVENTS.join(', ')}` });
  })
  .transform((events) => events as WebhookEvent[]);

/** `POST /api/v1/webhooks`: the URL passes the same outbound guard as a Canvas URL. */
export function createWebhookBody(policy: OutboundPolicy) {
  return z
    .object({
      url: outboundUrl('url', policy).describe('Where to POST the events: https, a public host (http and private hosts only with ALLOW_INSECURE_CANVAS_URLS)'),
      events: eventList.describe(`Events to receive: ${WEBHOOK_EVENTS.join(', ')}`),
      integrationId: z.string().min(1).max(100).optional().describe('Only this integration’s events; all integrations when absent'),
    })
    .strict();
}

/** The page form: checkboxes send one `events` value or several, and an empty integration means all. */
function pageBody(policy: OutboundPolicy) {
  return z
    .object({
      url: outboundUrl('url', policy),
      events: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), eventList),
      integrationId: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).max(100).optional()),
      requestId: z.string().max(64).optional(),
      _csrf: z.string().optional(),
    })
    .strict();
}

type Deps = Pick<Container, 'webhooks' | 'integrations' | 'config'>;

const actorOf = (res: { locals: Record<string, unknown> }) => String(res.locals.actor ?? 'unknown');

/**
 * Webhooks: the JSON API (`/api/v1/webhooks…`) and the staff pages (`/webhooks`, `/webhooks/:id`
 * with the delivery log). Both call the webhooks service, which records the audit entries.
 */
export function createWebhooksRouter(c: Deps): Router {
  const router = Router();
  const policy: OutboundPolicy = { allowInsecure: c.config.allowInsecureCanvasUrls };
  const apiBody = createWebhookBody(policy);
  const formBody = pageBody(policy);
  const service = c.webhooks.service;
  const idOf = (req: Request, name = 'id') => String(req.params[name]);

  router.post('/api/v1/webhooks', async (req, res) => {
    const input = parseInput(apiBody, req.body ?? {});
    const { endpoint, secret } = await service.create(input, actorOf(res));
    res.status(201).json({ ...presentWebhook(endpoint), secret });
  });

  router.get('/api/v1/webhooks', async (_req, res) => {
    res.json({ webhooks: (await service.list()).map(presentWebhook) });
  });

  router.delete('/api/v1/webhooks/:id', async (req, res) => {
    await service.remove(idOf(req), actorOf(res));
    res.status(204).end();
  });

  router.post('/api/v1/webhooks/:id/enable', async (req, res) => {
    res.json(presentWebhook(await service.enable(idOf(req), actorOf(res))));
  });

  router.get('/api/v1/webhooks/:id/deliveries', async (req, res) => {
    res.json({ deliveries: (await service.deliveries(idOf(req))).map(presentDelivery) });
  });

  router.post('/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver', async (req, res) => {
    res.status(202).json(presentDelivery(await service.redeliver(idOf(req), idOf(req, 'deliveryId'), actorOf(res))));
  });

  // Pages (staff only).
  const renderList = async (status: number, created: { id: string; url: string; secret: string } | null, res: Parameters<Parameters<typeof router.get>[1]>[1]) => {
    const [endpoints, integrations] = await Promise.all([service.list(), c.integrations.list()]);
    const names = new Map(integrations.map((i) => [i.id, i.name]));
    res.status(status).render('webhooks/list', {
      title: 'Webhooks',
      webhooks: endpoints.map((e) => ({ ...presentWebhook(e), integrationName: e.integrationId ? (names.get(e.integrationId) ?? e.integrationId) : null })),
      integrations: integrations.map((i) => ({ id: i.id, name: i.name })),
      events: WEBHOOK_EVENTS,
      created,
      requestId: randomUUID(),
    });
  };

  router.get('/webhooks', requireStaff, async (_req, res) => {
    await renderList(200, null, res);
  });

  router.post('/webhooks', requireStaff, async (req, res) => {
    const parsed = formBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      flash(req, 'error', `${issue?.path.join('.') || 'form'}: ${issue?.message ?? 'is invalid'}`);
      return res.redirect(303, '/webhooks');
    }
    const { requestId, _csrf: _, ...input } = parsed.data;
    // The secret can only be shown in this answer (it is stored encrypted and never shown again), so
    // the answer renders it rather than redirecting; a reload that re-sends the form gets a redirect.
    const done = req.session.webhookRequests ?? [];
    if (requestId && done.includes(requestId)) {
      flash(req, 'warn', 'This endpoint was already created by this form; its secret was shown once. If you did not copy it, delete the endpoint and create it again.');
      return res.redirect(303, '/webhooks');
    }
    if (requestId) req.session.webhookRequests = [...done, requestId].slice(-20);
    const { endpoint, secret } = await service.create(input, actorOf(res));
    res.setHeader('Cache-Control', 'no-store');
    await renderList(201, { id: endpoint.id, url: endpoint.url, secret }, res);
  });

  router.post('/webhooks/:id/delete', requireStaff, async (req, res) => {
    await service.remove(idOf(req), actorOf(res));
    flash(req, 'ok', 'The webhook endpoint was deleted; nothing more is sent to it.');
    res.redirect(303, '/webhooks');
  });

  router.post('/webhooks/:id/enable', requireStaff, async (req, res) => {
    await service.enable(idOf(req), actorOf(res));
    flash(req, 'ok', 'The webhook endpoint is enabled again; new events are sent to it.');
    res.redirect(303, `/webhooks/${encodeURIComponent(idOf(req))}`);
  });

  router.get('/webhooks/:id', requireStaff, async (req, res) => {
    const endpoint = await service.get(idOf(req));
    const deliveries = await service.deliveries(endpoint.id);
    res.render('webhooks/detail', { title: `Webhook · ${endpoint.url}`, webhook: presentWebhook(endpoint), deliveries: deliveries.map(presentDelivery) });
  });

  router.post('/webhooks/:id/deliveries/:deliveryId/redeliver', requireStaff, async (req, res) => {
    const d = await service.redeliver(idOf(req), idOf(req, 'deliveryId'), actorOf(res));
    flash(req, 'ok', `Message ${d.id} is queued to be sent again (same webhook-id).`);
    res.redirect(303, `/webhooks/${encodeURIComponent(idOf(req))}`);
  });

  return router;
}
