import * as client from 'openid-client';
import type { ReasonCode } from '../integrations/reasons.js';
import { findOutboundRefusal } from '../net/url-guard.js';
import type { RefreshGrantResult } from './token-source.js';

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

/** Why a token-endpoint call failed, as a §3 reason with Canvas's own words in `detail`. */
export interface TokenEndpointFailure {
  reason: ReasonCode;
  /** Canvas's `error` value (e.g. `invalid_grant`), or `network`/`http_<status>`. */
  error: string;
  detail: string;
}

export type CodeExchangeResult = ({ ok: true } & CanvasTokenGrant) | ({ ok: false } & TokenEndpointFailure);

export interface CanvasOAuth {
  /** Canvas's authorize URL with PKCE S256, state and the space-separated scope list. */
  authorizationUrl(t: Omit<CanvasOAuthTarget, 'clientSecret'>, p: { state: string; codeChallenge: string; scopes: string[] }): string;
  /** Exchanges a code (with the PKCE verifier and client secret). Never throws for Canvas answers. */
  exchangeCode(t: CanvasOAuthTarget, p: { callbackUrl: URL; state: string; codeVerifier: string }): Promise<CodeExchangeResult>;
  refresh(t: CanvasOAuthTarget, refreshToken: string): Promise<RefreshGrantResult>;
  /** `DELETE /login/oauth2/token`; true when Canvas confirmed, false when the token was already gone. */
  revoke(canvasUrl: string, accessToken: string): Promise<{ ok: boolean; status: number | null }>;
}

/**
 * Maps a Canvas token-endpoint error (reference §3.2) to a reason. `refresh_token not found` comes
 * as `invalid_request`, not `invalid_grant`, so both mean "revoked" for a refresh.
 */
export function classifyTokenError(
  status: number,
  body: { error?: unknown; error_description?: unknown },
  grant: 'authorization_code' | 'refresh_token',
): TokenEndpointFailure {
  const error = typeof body.error === 'string' ? body.error : `http_${status}`;
  const description = typeof body.error_description === 'string' ? body.error_description : '';
  const detail = description ? `Canvas answered ${error}: ${description}` : `Canvas answered ${error} (HTTP ${status})`;
  if (error === 'invalid_client') return { reason: 'invalid_client', error, detail };
  if (status >= 500 || status === 0) return { reason: 'canvas_unreachable', error, detail };
  if (grant === 'refresh_token' && (error === 'invalid_grant' || /refresh_token not found/.test(description))) {
    return { reason: 'token_revoked', error, detail };
  }
  if (grant === 'authorization_code' && error === 'invalid_grant') {
    // Code expired (10 min), already used, issued to another key, or PKCE verifier mismatch:
    // only a new authorization helps, which is what state_invalid tells the admin.
    return { reason: 'state_invalid', error, detail: `${detail}. The authorization code was expired, used or did not match; start again.` };
  }
  return { reason: grant === 'refresh_token' ? 'token_revoked' : 'invalid_client', error, detail };
}

async function failureFromThrown(err: unknown, grant: 'authorization_code' | 'refresh_token'): Promise<TokenEndpointFailure> {
  if (err instanceof client.ResponseBodyError) {
    return classifyTokenError(err.status, err.cause as Record<string, unknown>, grant);
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // Canvas's 401 invalid_client carries `WWW-Authenticate: Canvas OAuth 2.0`; the body is unread.
    const body = (await err.response.json().catch(() => ({}))) as Record<string, unknown>;
    return classifyTokenError(err.status, body, grant);
  }
  const refusal = findOutboundRefusal(err);
  if (refusal) return { reason: 'canvas_unreachable', error: 'refused', detail: `Canvas was not called: ${refusal.message}.` };
  const e = err as { code?: string; cause?: { status?: number } & Record<string, unknown>; message?: string; name?: string };
  const status = typeof e.cause?.status === 'number' ? e.cause.status : 0;
  if (status >= 500 || status === 0) {
    return { reason: 'canvas_unreachable', error: 'network', detail: `Canvas could not be reached or answered unexpectedly (${e.name ?? 'error'}).` };
  }
  return classifyTokenError(status, {}, grant);
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
        return { ok: false, ...(await failureFromThrown(err, 'authorization_code')) };
      }
    },

    async refresh(t, refreshToken) {
      try {
        const r = await client.refreshTokenGrant(configFor(t), refreshToken);
        return { ok: true, accessToken: r.access_token, refreshToken: r.refresh_token, expiresIn: r.expires_in };
      } catch (err) {
        const f = await failureFromThrown(err, 'refresh_token');
        const reason = f.reason === 'invalid_client' || f.reason === 'canvas_unreachable' ? f.reason : 'token_revoked';
        return { ok: false, reason, detail: f.detail };
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
