import { tokenEndpointFailure, type TokenEndpointFailure } from '../oauth/canvas-oauth.js';
import type { ReasonCode } from './reasons.js';

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
    return { reason: 'token_revoked', error, detail };
  }
  if (grant === 'authorization_code' && error === 'invalid_grant') {
    return { reason: 'state_invalid', error, detail: `${detail}. The authorization code was expired, used or did not match; start again.` };
  }
  return { reason: grant === 'refresh_token' ? 'token_revoked' : 'invalid_client', error, detail };
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
