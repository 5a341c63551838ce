import * as client from 'openid-client';
import { findOutboundRefusal } from '../net/url-guard.js';

/** Where and as whom to talk to one Canvas's OAuth2 endpoints. */
export interface CanvasOAuthTarget {
  canvasUrl: string;
  clientId: string;
  clientSecret: string;
}

/** The token endpoint's success answer, reduced to what the product stores. */
export interface CanvasTokenGrant {
  accessToken: string;
  refreshToken: string | null;
  expiresIn: number | null;
  user: { id: string; name: string };
}

/**
 * What the token endpoint answered when it refused, as facts: the adapter does not decide what it
 * means for the connection (the Generate Keys flow and the refresh wiring do).
 */
export interface TokenEndpointFailure {
  /** Canvas's `error` value (e.g. `invalid_grant`), `http_<status>` without one, or `network`. */
  error: string;
  /** Canvas's `error_description`, or empty. */
  description: string;
  /** HTTP status of the answer; 0 when no answer came. */
  status: number;
  /** Canvas's own words, for people. */
  detail: string;
}

export type CodeExchangeResult = ({ ok: true } & CanvasTokenGrant) | ({ ok: false } & TokenEndpointFailure);

/** A refresh grant's answer: the new token, or the facts of the refusal. */
export type RefreshResult =
  | { ok: true; accessToken: string; refreshToken?: string; expiresIn?: number }
  | ({ ok: false } & TokenEndpointFailure);

export interface CanvasOAuth {
  /** Canvas's authorize URL with PKCE S256, state and the space-separated scope list. */
  authorizationUrl(t: Omit<CanvasOAuthTarget, 'clientSecret'>, p: { state: string; codeChallenge: string; scopes: string[] }): string;
  /** Exchanges a code (with the PKCE verifier and client secret). Never throws for Canvas answers. */
  exchangeCode(t: CanvasOAuthTarget, p: { callbackUrl: URL; state: string; codeVerifier: string }): Promise<CodeExchangeResult>;
  /** `grant_type=refresh_token`. Never throws for Canvas answers. */
  refresh(t: CanvasOAuthTarget, refreshToken: string): Promise<RefreshResult>;
  /** `DELETE /login/oauth2/token`; true when Canvas confirmed, false when the token was already gone. */
  revoke(canvasUrl: string, accessToken: string): Promise<{ ok: boolean; status: number | null }>;
}

/** Reads a refusing token-endpoint answer (status + JSON body) into {@link TokenEndpointFailure}. */
export function tokenEndpointFailure(status: number, body: { error?: unknown; error_description?: unknown }): TokenEndpointFailure {
  const error = typeof body.error === 'string' ? body.error : `http_${status}`;
  const description = typeof body.error_description === 'string' ? body.error_description : '';
  const detail = description ? `Canvas answered ${error}: ${description}` : `Canvas answered ${error} (HTTP ${status})`;
  return { error, description, status, detail };
}

/** `error` and `error_description` from a redirect's Location, when it carries them. */
function errorOnLocation(location: string | null): { error?: string; error_description?: string } {
  if (!location) return {};
  try {
    const u = new URL(location, 'http://location.invalid');
    return { error: u.searchParams.get('error') ?? undefined, error_description: u.searchParams.get('error_description') ?? undefined };
  } catch {
    return {};
  }
}

async function failureFromThrown(err: unknown): Promise<TokenEndpointFailure> {
  if (err instanceof client.ResponseBodyError) {
    return tokenEndpointFailure(err.status, err.cause as Record<string, unknown>);
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // Canvas's 401 invalid_client carries `WWW-Authenticate: Canvas OAuth 2.0`; the body is unread.
    const body = (await err.response.json().catch(() => ({}))) as Record<string, unknown>;
    return tokenEndpointFailure(err.status, body);
  }
  const refusal = findOutboundRefusal(err);
  if (refusal) return { error: 'refused', description: '', status: 0, detail: `Canvas was not called: ${refusal.message}.` };
  const e = err as { code?: string; cause?: { status?: number; headers?: unknown } & Record<string, unknown>; message?: string; name?: string };
  const status = typeof e.cause?.status === 'number' ? e.cause.status : 0;
  const headers = e.cause?.headers as { get?: unknown } | undefined;
  if (status >= 300 && status < 400 && typeof headers?.get === 'function') {
    // An older self-hosted Canvas redirects token-endpoint errors to the redirect_uri it was sent,
    // with `error` and `error_description` on the Location (never followed: it is our own callback).
    // Duck-typed: the guarded fetch's Response may come from another undici than the global one.
    const redirected = errorOnLocation((headers as { get(name: string): string | null }).get('location'));
    if (redirected.error) return tokenEndpointFailure(400, redirected);
  }
  if (status >= 500 || status === 0) {
    return { error: 'network', description: '', status, detail: `Canvas could not be reached or answered unexpectedly (${e.name ?? 'error'}).` };
  }
  return tokenEndpointFailure(status, {});
}

/**
 * Canvas OAuth2 through openid-client 6 (no discovery: Canvas is not an OIDC provider, so the
 * endpoints are configured by hand). `http://` Canvas URLs work only with `allowInsecure`
 * (ALLOW_INSECURE_CANVAS_URLS), because openid-client refuses plain http otherwise.
 */
export function createCanvasOAuth(deps: {
  fetch: typeof globalThis.fetch;
  redirectUri: string;
  allowInsecure: boolean;
  timeoutMs?: number;
  userAgent?: string;
}): CanvasOAuth {
  const userAgent = deps.userAgent ?? 'canvas-companion';
  const configFor = (t: { canvasUrl: string; clientId: string; clientSecret?: string }) => {
    const base = t.canvasUrl;
    const config = new client.Configuration(
      { issuer: base, authorization_endpoint: `${base}/login/oauth2/auth`, token_endpoint: `${base}/login/oauth2/token` },
      t.clientId,
      t.clientSecret,
    );
    if (deps.allowInsecure) client.allowInsecureRequests(config);
    config.timeout = Math.ceil((deps.timeoutMs ?? 15000) / 1000);
    config[client.customFetch] = (url, options) => {
      const headers = new Headers(options.headers as HeadersInit);
      headers.set('user-agent', userAgent);
      return deps.fetch(url, { ...(options as RequestInit), headers });
    };
    return config;
  };

  const toGrant = (r: client.TokenEndpointResponse): CanvasTokenGrant => {
    const user = (r as unknown as { user?: { id?: unknown; name?: unknown } }).user ?? {};
    return {
      accessToken: r.access_token,
      refreshToken: r.refresh_token ?? null,
      expiresIn: typeof r.expires_in === 'number' ? r.expires_in : null,
      user: { id: String(user.id ?? ''), name: typeof user.name === 'string' ? user.name : '' },
    };
  };

  return {
    authorizationUrl(t, p) {
      return client
        .buildAuthorizationUrl(configFor(t), {
          redirect_uri: deps.redirectUri,
          response_type: 'code',
          state: p.state,
          code_challenge: p.codeChallenge,
          code_challenge_method: 'S256',
          scope: p.scopes.join(' '),
        })
        .toString();
    },

    async exchangeCode(t, p) {
      try {
        const r = await client.authorizationCodeGrant(configFor(t), p.callbackUrl, {
          expectedState: p.state,
          pkceCodeVerifier: p.codeVerifier,
        });
        return { ok: true, ...toGrant(r) };
      } catch (err) {
        return { ok: false, ...(await failureFromThrown(err)) };
      }
    },

    async refresh(t, refreshToken) {
      try {
        const r = await client.refreshTokenGrant(configFor(t), refreshToken);
        return { ok: true, accessToken: r.access_token, refreshToken: r.refresh_token, expiresIn: r.expires_in };
      } catch (err) {
        return { ok: false, ...(await failureFromThrown(err)) };
      }
    },

    async revoke(canvasUrl, accessToken) {
      try {
        const res = await deps.fetch(`${canvasUrl}/login/oauth2/token`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${accessToken}`, 'user-agent': userAgent },
          signal: AbortSignal.timeout(deps.timeoutMs ?? 15000),
        });
        await res.arrayBuffer().catch(() => undefined);
        return { ok: res.ok, status: res.status };
      } catch {
        // Refused by the outbound guard or unreachable: the token is deleted here either way.
        return { ok: false, status: null };
      }
    },
  };
}
