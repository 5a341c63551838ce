import { Router, type Request } from 'express';
import { z } from 'zod';
import { isFeature, scopesFor } from '../../canvas/endpoints.js';
import type { Feature } from '../../canvas/types.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { REMEDIES } from '../../integrations/reasons.js';
import { diagnoseAuthorizeUrl } from '../../integrations/diagnose-url.js';
import { presentIntegration, presentStatus } from '../presenters/integration.js';
import { parseInput } from '../validate.js';

type Deps = Pick<Container, 'config' | 'integrations' | 'integrationSettings' | 'integrationSchemas' | 'connection' | 'signedLinks' | 'audit' | 'clock'>;

export const diagnoseSchema = z.object({ url: z.string().min(1).max(8000) }).strict();
export const emptySchema = z.object({}).strict();
/** `PATCH …?moveLtiRegistration=true`: take an LTI pair another integration holds (audited on both). */
export const moveQuerySchema = z.object({ moveLtiRegistration: z.enum(['true', 'false']).optional() }).strict();

/** Parses `?features=a,b` into features; unknown names are a 400 naming them. */
export function parseFeatures(value: unknown): Feature[] | undefined {
  if (value === undefined || value === '') return undefined;
  const names = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !isFeature(n));
  if (bad.length) {
    throw new AppError('validation_failed', `features: unknown feature ${bad.join(', ')}`, {
      details: { field: 'features' },
      help: 'Use connection, course_refresh, course_refresh_bulk, roster_sync (comma-separated).',
    });
  }
  return names as Feature[];
}

/**
 * The JSON API rows of PRODUCT-SPEC §6 for integrations, Generate Keys and diagnostics. Mounted
 * behind `requireApiToken` (src/app.ts); `res.locals.actor` names the caller in the audit log.
 */
export function createIntegrationsApiRouter(c: Deps): Router {
  const router = Router();
  const base = '/api/v1/integrations';
  const actorOf = (res: { locals: Record<string, unknown> }) => String(res.locals.actor ?? 'api');
  const idOf = (req: Request) => String(req.params.id);
  const mustGet = async (id: string) => {
    const i = await c.integrations.get(id);
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  router.get(base, async (_req, res) => {
    res.json({ integrations: (await c.integrations.list()).map(presentIntegration) });
  });

  router.post(base, async (req, res) => {
    const input = parseInput(c.integrationSchemas.create, req.body ?? {});
    const created = await c.integrationSettings.create(input, { scope: 'platform', label: actorOf(res) });
    res.status(201).json(presentIntegration(created));
  });

  router.get(`${base}/:id`, async (req, res) => {
    res.json(presentIntegration(await mustGet(idOf(req))));
  });

  router.patch(`${base}/:id`, async (req, res) => {
    const patch = parseInput(c.integrationSchemas.patch, req.body ?? {});
    const { moveLtiRegistration } = parseInput(moveQuerySchema, req.query);
    const { integration } = await c.integrationSettings.update(idOf(req), patch, { scope: 'platform', label: actorOf(res) }, { moveLtiRegistration: moveLtiRegistration === 'true' });
    res.json(presentIntegration(integration));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const id = idOf(req);
    await mustGet(id);
    await c.connection.disconnect(id, actorOf(res)).catch(() => undefined);
    await c.integrations.delete(id);
    await c.audit.record({ integrationId: id, actor: actorOf(res), action: 'integration.deleted' });
    res.status(204).end();
  });

  router.post(`${base}/:id/preflight`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    const r = await c.connection.preflight(idOf(req));
    res.json({ ...r, help: Object.fromEntries(r.reasons.map((code) => [code, REMEDIES[code].remedy])) });
  });

  router.post(`${base}/:id/authorization-links`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    const id = idOf(req);
    const i = await mustGet(id);
    if (!i.clientSecretSet) throw new AppError('validation_failed', 'clientSecret: save the client secret first', { details: { field: 'clientSecret' } });
    const link = c.signedLinks.issue('authorize', id);
    await c.audit.record({ integrationId: id, actor: actorOf(res), action: 'authorization_link.created', detail: { expiresAt: link.expiresAt } });
    res.status(201).json(link);
  });

  router.post(`${base}/:id/setup-links`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    const id = idOf(req);
    await mustGet(id);
    const link = c.signedLinks.issue('setup', id);
    await c.audit.record({ integrationId: id, actor: actorOf(res), action: 'setup_link.created', detail: { expiresAt: link.expiresAt } });
    res.status(201).json(link);
  });

  router.post(`${base}/:id/verify`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    res.json(presentStatus(await c.connection.verify(idOf(req), actorOf(res))));
  });

  router.delete(`${base}/:id/token`, async (req, res) => {
    await c.connection.disconnect(idOf(req), actorOf(res));
    res.status(204).end();
  });

  router.get(`${base}/:id/scopes`, async (req, res) => {
    await mustGet(idOf(req));
    res.json({ scopes: scopesFor(parseFeatures(req.query.features)) });
  });

  router.post('/api/v1/diagnostics/authorize-url', (req, res) => {
    const { url } = parseInput(diagnoseSchema, req.body ?? {});
    res.json(diagnoseAuthorizeUrl(url));
  });

  return router;
}
