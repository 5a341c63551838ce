import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { flash } from '../flash.js';
import { requireStaff } from '../middleware/auth.js';
import { presentApiToken } from '../presenters/api-token.js';
import { parseInput } from '../validate.js';

const createSchema = z.object({ name: z.string().max(100), requestId: z.string().max(64).optional(), _csrf: z.string().optional() }).strict();

/** `/settings/api-tokens`: list, create (token shown once), revoke. Staff only. Plus `GET /api/v1/whoami`. */
export function createTokensRouter(container: Pick<Container, 'apiTokens' | 'platformAdmin'>): Router {
  const router = Router();
  const base = '/settings/api-tokens';

  router.get(base, requireStaff, async (_req, res) => {
    const tokens = await container.apiTokens.list();
    res.render('tokens', { title: 'API tokens', tokens: tokens.map(presentApiToken), created: null, requestId: randomUUID() });
  });

  router.post(base, requireStaff, async (req, res) => {
    const input = parseInput(createSchema, req.body ?? {});
    // The new token can only be shown in this answer (it is stored nowhere), so this POST cannot
    // redirect; instead each form carries an id, and a reload that sends the same form again gets
    // a redirect to the list rather than a second token.
    const done = req.session.apiTokenRequests ?? [];
    if (input.requestId && done.includes(input.requestId)) {
      flash(req, 'warn', `The token “${input.name}” was already created by this form; its value was shown once. If you did not copy it, revoke it and create another.`);
      return res.redirect(303, base);
    }
    if (input.requestId) req.session.apiTokenRequests = [...done, input.requestId].slice(-20);
    const actor = `staff:${req.session.staff!.id}`;
    const { token, info } = await container.platformAdmin.createApiToken(input.name, { label: actor });
    const tokens = await container.apiTokens.list();
    // Rendered directly (not flashed): the token must never be stored, not even in the session.
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).render('tokens', { title: 'API tokens', tokens: tokens.map(presentApiToken), created: { name: info.name, token }, requestId: randomUUID() });
  });

  router.post(`${base}/:tokenId/revoke`, requireStaff, async (req, res) => {
    const id = String(req.params.tokenId);
    await container.platformAdmin.revokeApiToken(id, { label: `staff:${req.session.staff!.id}` });
    flash(req, 'ok', 'The token was revoked; requests using it now get 401.');
    res.redirect(303, base);
  });

  // Lets automation check its token: mounted behind requireApiToken (src/app.ts), so 200 means valid.
  router.get('/api/v1/whoami', (_req, res) => {
    res.json({ actor: res.locals.actor });
  });

  return router;
}
