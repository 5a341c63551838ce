import { Router, type Request, type Response } from 'express';
import type { Container } from '../../container.js';
import { BROWSER_COOKIE, newBrowserSecret } from '../../integrations/authorization.js';
import { allowFormActionTo } from '../csp.js';
import { requireIntegrationAccess } from '../middleware/auth.js';
import { resultView } from '../presenters/oauth-result.js';
import '../session.js';
import { returnsTo } from '../form-page.js';

type Deps = Pick<Container, 'config' | 'integrations' | 'connection' | 'integrationLinks'>;

/** Reads one cookie from the request (express-session parses only its own). */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The browser-binding secret of this browser, set (httpOnly, SameSite=Lax) when absent. */
function browserSecret(req: Request, res: Response, secure: boolean): string {
  const existing = readCookie(req, BROWSER_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const secret = newBrowserSecret();
  res.cookie(BROWSER_COOKIE, secret, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 24 * 3600 * 1000 });
  return secret;
}

/**
 * Limits this browser's session to one integration (a signed link's holder is that institution's
 * Canvas admin). Staff sessions are left alone; a fresh session id prevents session fixation.
 */
async function grantIntegrationAccess(req: Request, integration: { id: string; name: string }): Promise<void> {
  if (req.session.staff || req.session.integrationAccess?.integrationId === integration.id) return;
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
  req.session.integrationAccess = { integrationId: integration.id, via: 'setup-link', label: integration.name };
}

/**
 * The browser side of Generate Keys: start (POST form or signed authorization link), the Canvas
 * callback with its result page, and signed setup links for Canvas admins without an account.
 */
export function createOAuthRouter(c: Deps): Router {
  const router = Router();
  const secure = c.config.secureCookies;

  router.post('/integrations/:id/generate-keys', requireIntegrationAccess('id'), returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}`), async (req, res) => {
    const id = String(req.params.id);
    const started = await c.integrationLinks.startAuthorization(id, browserSecret(req, res, secure), { label: String(res.locals.actor ?? 'browser') });
    res.redirect(303, started.url);
  });

  // An authorization link (API): works in any browser, no account needed; binds the state to it.
  router.get('/oauth/start', async (req, res) => {
    const integration = await c.integrationLinks.open('authorize', typeof req.query.token === 'string' ? req.query.token : '');
    await grantIntegrationAccess(req, integration);
    const id = integration.id;
    const started = await c.integrationLinks.startAuthorization(id, browserSecret(req, res, secure), { label: `admin-link:${id}`, via: 'authorization-link' });
    res.redirect(302, started.url);
  });

  router.get('/oauth/callback', async (req, res) => {
    const query: Record<string, string | undefined> = {};
    for (const k of ['code', 'state', 'error', 'error_description']) {
      const v = req.query[k];
      if (typeof v === 'string') query[k] = v;
    }
    const outcome = await c.connection.handleCallback(query, readCookie(req, BROWSER_COOKIE));
    const id = outcome.integrationId;
    const canOpen = id !== undefined && (Boolean(req.session.staff) || req.session.integrationAccess?.integrationId === id);
    const canRetry = outcome.kind !== 'state_invalid' && canOpen;
    const retryCanvasUrl = canRetry ? (await c.integrations.get(id))?.canvasUrl : undefined;
    // Post/Redirect/Get: the code and state leave the address bar and history, and a reload
    // shows the result instead of replaying a used callback.
    req.session.oauthResult = {
      status: outcome.kind === 'state_invalid' ? 400 : 200,
      view: resultView(outcome, { canRetry, canOpen }),
      retryCanvasUrl,
    };
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(303, '/oauth/result');
  });

  router.get('/oauth/result', (req, res) => {
    const result = req.session.oauthResult;
    if (!result) {
      res.redirect(303, '/');
      return;
    }
    delete req.session.oauthResult;
    if (result.retryCanvasUrl) allowFormActionTo(res, result.retryCanvasUrl);
    res.setHeader('Cache-Control', 'no-store');
    res.status(result.status).render('oauth/result', result.view);
  });

  router.get('/setup', async (req, res) => {
    const integration = await c.integrationLinks.open('setup', typeof req.query.token === 'string' ? req.query.token : '');
    await grantIntegrationAccess(req, integration);
    res.redirect(303, `/integrations/${encodeURIComponent(integration.id)}`);
  });

  return router;
}
