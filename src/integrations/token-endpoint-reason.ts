import { tokenEndpointFailure, type TokenEndpointFailure } from '../oauth/canvas-oauth.js';
import type { ReasonCode } from './reasons.js';

/**
 * What pages and the API say when a refresh is refused: Canvas's own words (`invalid_grant` or
 * `invalid_request`, "refresh_token not found") mean nothing to an admin, so they stay in `error`.
 */
export const REFRESH_TOKEN_GONE =
  'Canvas no longer accepts this integration\'s refresh token: the token was revoked or deleted in Canvas (or a scope was removed from the developer key).';

/** What a refused token-endpoint call means for the connection. */
export interface TokenEndpointReason {
  reason: ReasonCode;
  /** Canvas's `error` value (e.g. `invalid_grant`), or `network`/`http_<status>`. */
  error: string;
  detail: string;
}

/**
 * Decides the reason for a refused token-endpoint call. A refresh refused with `invalid_grant`
 * or `refresh_token not found` (Canvas sends the latter as `invalid_request`) means the token was
 * revoked; a refused code exchange (code expired, used, or PKCE mismatch) can only be fixed by a new
 * authorization, which is what `state_invalid` tells the admin.
 */
export function reasonForTokenFailure(f: TokenEndpointFailure, grant: 'authorization_code' | 'refresh_token'): TokenEndpointReason {
  const { error, detail } = f;
  if (error === 'invalid_client') return { reason: 'invalid_client', error, detail };
  if (error === 'network' || f.status >= 500 || f.status === 0) return { reason: 'canvas_unreachable', error, detail };
  if (grant === 'refresh_token' && (error === 'invalid_grant' || /refresh_token not found/.test(f.description))) {
    return { reason: 'token_revoked', error, detail: REFRESH_TOKEN_GONE };
  }
  if (grant === 'authorization_code' && error === 'invalid_grant') {
    return { reason: 'state_invalid', error, detail: `${detail}. The authorization code was expired, used or did not match; start again.` };
  }
  return grant === 'refresh_token' ? { reason: 'token_revoked', error, detail: REFRESH_TOKEN_GONE } : { reason: 'invalid_client', error, detail };
}

/** {@link reasonForTokenFailure} straight from a token endpoint's status and JSON body. */
export function classifyTokenError(
  status: number,
  body: { error?: unknown; error_description?: unknown },
  grant: 'authorization_code' | 'refresh_token',
): TokenEndpointReason {
  return reasonForTokenFailure(tokenEndpointFailure(status, body), grant);
}

/**
 * The reason a failed refresh leaves on the integration: only `invalid_client` and
 * `canvas_unreachable` are told apart; every other refusal means the token is gone.
 */
export function reasonForRefreshFailure(f: TokenEndpointFailure): 'token_revoked' | 'invalid_client' | 'canvas_unreachable' {
  const { reason } = reasonForTokenFailure(f, 'refresh_token');
  return reason === 'invalid_client' || reason === 'canvas_unreachable' ? reason : 'token_revoked';
}

/**
 * {@link reasonForRefreshFailure} with the words the integration's status shows: a gone token is
 * explained ({@link REFRESH_TOKEN_GONE}), never Canvas's raw "invalid_request: refresh_token not found".
 */
export function refreshFailure(f: TokenEndpointFailure): { reason: 'token_revoked' | 'invalid_client' | 'canvas_unreachable'; detail: string } {
  const reason = reasonForRefreshFailure(f);
  return { reason, detail: reason === 'token_revoked' ? REFRESH_TOKEN_GONE : f.detail };
}
