import { findOutboundRefusal } from '../net/url-guard.js';
import { classifyAuthorizeError } from './authorize-errors.js';
import type { Check, ReasonCode } from './reasons.js';
import { classifyTokenError } from './token-endpoint-reason.js';
import { quantity } from '../text/quantity.js';

/** "Could not reach X." plus why, when the outbound guard refused the call. */
function unreachable(canvasUrl: string, err: unknown): string {
  const refusal = findOutboundRefusal(err);
  return refusal ? `Canvas was not called: ${refusal.message}.` : `Could not reach ${canvasUrl}.`;
}

export interface PreflightInput {
  canvasUrl: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  scopes: string[];
}

export interface PreflightResult {
  ok: boolean;
  reasons: ReasonCode[];
  missingScopes: string[];
  checks: Check[];
}

/** What Canvas's authorize endpoint said to a cookie-less request. */
export type AuthorizeProbe =
  | { outcome: 'ready' }
  | { outcome: 'failed'; reason: ReasonCode; missingScopes: string[]; detail: string };

const TIMEOUT_MS = 15000;

/**
 * The `error` and `error_description` an older Canvas puts on the Location of a redirected
 * token-endpoint error (it appends them to the redirect URI). Empty when the Location has none.
 */
export function errorFromLocation(res: Response, base: string): { error?: string; error_description?: string } {
  try {
    const target = new URL(res.headers.get('location') ?? '', base);
    const error = target.searchParams.get('error') ?? undefined;
    const description = target.searchParams.get('error_description') ?? undefined;
    return { ...(error ? { error } : {}), ...(description ? { error_description: description } : {}) };
  } catch {
    return {};
  }
}

/**
 * Asks Canvas's authorize endpoint, server-side, without cookies and without following redirects,
 * what it thinks of the key: JSON 401/400 (unknown client, redirect mismatch), a redirect to our
 * redirect URI with an error (missing scopes, key OFF), or a redirect to its login page (ready).
 */
export async function probeAuthorizeEndpoint(fetchImpl: typeof globalThis.fetch, input: Omit<PreflightInput, 'clientSecret'>): Promise<AuthorizeProbe> {
  const url = new URL(`${input.canvasUrl}/login/oauth2/auth`);
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', 'preflight');
  if (input.scopes.length) url.searchParams.set('scope', input.scopes.join(' '));
  let res: Response;
  try {
    res = await fetchImpl(url, { redirect: 'manual', headers: { 'user-agent': 'canvas-companion preflight' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    return { outcome: 'failed', reason: 'canvas_unreachable', missingScopes: [], detail: unreachable(input.canvasUrl, err) };
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location') ?? '';
    let target: URL | undefined;
    try {
      target = new URL(location, input.canvasUrl);
    } catch {
      target = undefined;
    }
    const error = target?.searchParams.get('error');
    const description = target?.searchParams.get('error_description') ?? '';
    if (target && `${target.origin}${target.pathname}` === input.redirectUri && error) {
      const c = classifyAuthorizeError(error, description);
      const detail = c.reason === 'missing_scopes' ? `The key does not grant ${quantity(c.missingScopes.length, 'scope')} this service needs.` : c.detail;
      return { outcome: 'failed', reason: c.reason, missingScopes: c.missingScopes, detail };
    }
    return { outcome: 'ready' };
  }
  let body: { error?: string; error_description?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  if (res.status === 401 || body.error === 'invalid_client') {
    return { outcome: 'failed', reason: 'invalid_client', missingScopes: [], detail: `Canvas does not know client id ${input.clientId} or the key is deactivated (${body.error_description ?? 'unknown client'}).` };
  }
  if (res.status === 400 && /redirect_uri/.test(body.error_description ?? '')) {
    return { outcome: 'failed', reason: 'redirect_uri_mismatch', missingScopes: [], detail: `Canvas refused our redirect URI ${input.redirectUri}: ${body.error_description}.` };
  }
  if (res.status >= 500 || res.status === 0) {
    return { outcome: 'failed', reason: 'canvas_unreachable', missingScopes: [], detail: `Canvas answered HTTP ${res.status}.` };
  }
  if (res.status === 200) return { outcome: 'ready' };
  return { outcome: 'failed', reason: 'canvas_unreachable', missingScopes: [], detail: `Unexpected answer from Canvas (HTTP ${res.status}).` };
}

/**
 * Preflight: checks the developer key before anyone is sent to Canvas.
 * 1. the token endpoint with the id/secret and a dummy code: `invalid_client` = wrong id or secret,
 *    `invalid_grant` = both valid (Canvas checks the client before the code);
 * 2. the authorize endpoint (see {@link probeAuthorizeEndpoint}).
 * Stores nothing. Never throws for Canvas answers.
 */
export async function runPreflight(fetchImpl: typeof globalThis.fetch, input: PreflightInput): Promise<PreflightResult> {
  const checks: Check[] = [];

  if (!input.clientSecret) {
    checks.push({ name: 'client_credentials', ok: false, reason: 'invalid_client', detail: 'No client secret is saved for this integration.' });
  } else {
    try {
      // No redirect_uri: the dummy code needs none (Canvas checks the client before the code), and an
      // older self-hosted Canvas answers token-endpoint errors with a 302 to the redirect_uri it was
      // sent. Redirects are never followed; one that still comes is read for its `error`.
      const res = await fetchImpl(`${input.canvasUrl}/login/oauth2/token`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'canvas-companion preflight' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: input.clientId,
          client_secret: input.clientSecret,
          code: 'canvas-companion-preflight',
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const body = res.status >= 300 && res.status < 400 ? errorFromLocation(res, input.canvasUrl) : ((await res.json().catch(() => ({}))) as { error?: string; error_description?: string });
      if (body.error === 'invalid_grant') {
        checks.push({ name: 'client_credentials', ok: true, detail: 'Canvas accepted the client id and secret.' });
      } else {
        const f = classifyTokenError(res.status >= 300 && res.status < 400 && body.error ? 400 : res.status, body, 'authorization_code');
        const detail =
          body.error_description === 'unknown client'
            ? `Canvas does not know client id ${input.clientId}, or the key is deactivated.`
            : body.error_description === 'invalid client'
              ? 'The client secret is wrong (Canvas knows the client id).'
              : f.detail;
        checks.push({ name: 'client_credentials', ok: false, reason: f.reason === 'state_invalid' ? 'invalid_client' : f.reason, detail });
      }
    } catch (err) {
      checks.push({ name: 'client_credentials', ok: false, reason: 'canvas_unreachable', detail: unreachable(input.canvasUrl, err) });
    }
  }

  const probe = await probeAuthorizeEndpoint(fetchImpl, input);
  const missingScopes = probe.outcome === 'failed' ? probe.missingScopes : [];
  checks.push(
    probe.outcome === 'ready'
      ? { name: 'authorize_endpoint', ok: true, detail: 'Canvas would show its login/consent page: the key is ON, our redirect URI is on it and it grants every scope.' }
      : { name: 'authorize_endpoint', ok: false, reason: probe.reason, detail: probe.detail },
  );

  const reasons = [...new Set(checks.flatMap((c) => (c.reason ? [c.reason] : [])))];
  return { ok: reasons.length === 0, reasons, missingScopes, checks };
}
