import { Router, type Request } from 'express';
import { z } from 'zod';
import { manifestFeatures, scopesFor } from '../../canvas/endpoints.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { remedyFor } from '../../integrations/reasons.js';
import { diagnoseAuthorizeUrl } from '../../integrations/diagnose-url.js';
import { parseFeatures } from '../features-query.js';
import { presentIntegration, presentStatus } from '../presenters/integration.js';
import { parseInput } from '../validate.js';

type Deps = Pick<Container, 'config' | 'integrations' | 'integrationSettings' | 'integrationSchemas' | 'integrationLinks' | 'connection' | 'clock'>;

export const diagnoseSchema = z.object({ url: z.string().min(1).max(8000) }).strict();
export const emptySchema = z.object({}).strict();
/** `PATCH …?moveLtiRegistration=true`: take an LTI pair another integration holds (audited on both). */
export const moveQuerySchema = z.object({ moveLtiRegistration: z.enum(['true', 'false']).optional() }).strict();

/**
 * The JSON API routes for integrations, Generate Keys and diagnostics. Mounted
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
    await c.integrationSettings.delete(idOf(req), { scope: 'platform', label: actorOf(res) });
    res.status(204).end();
  });

  router.post(`${base}/:id/preflight`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    const r = await c.connection.preflight(idOf(req));
    res.json({ ...r, help: Object.fromEntries(r.reasons.map((code) => [code, remedyFor(code, 'authorization').remedy])) });
  });

  router.post(`${base}/:id/authorization-links`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    res.status(201).json(await c.integrationLinks.issue('authorize', idOf(req), { label: actorOf(res) }));
  });

  router.post(`${base}/:id/setup-links`, async (req, res) => {
    parseInput(emptySchema, req.body ?? {});
    res.status(201).json(await c.integrationLinks.issue('setup', idOf(req), { label: actorOf(res) }));
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
    const i = await mustGet(idOf(req));
    // Without ?features= the manifest of the integration's chosen features.
    res.json({ scopes: scopesFor(parseFeatures(req.query.features) ?? manifestFeatures(i.features)) });
  });

  router.post('/api/v1/diagnostics/authorize-url', (req, res) => {
    const { url } = parseInput(diagnoseSchema, req.body ?? {});
    res.json(diagnoseAuthorizeUrl(url));
  });

  return router;
}
