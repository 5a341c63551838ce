import { parseMissingScopes } from '../canvas/endpoints.js';
import type { ReasonCode } from './reasons.js';

/**
 * Canvas's authorize errors (redirect and JSON) mapped to status reasons. Those Canvas only
 * sends for requests this service never makes (we never send `prompt`, always send
 * `response_type=code`) mean the request was altered on the way, so "start again from this
 * service" (state_invalid) is the closest honest advice; the detail says so.
 */
export const AUTHORIZE_ERRORS: Record<string, { reason: ReasonCode; detail: string }> = {
  access_denied: { reason: 'access_denied', detail: 'Authorize was not clicked in Canvas (Cancel, or the consent page was left).' },
  invalid_scope: { reason: 'missing_scopes', detail: 'The developer key does not grant every scope this service asked for.' },
  unauthorized_client: { reason: 'developer_key_off', detail: 'Canvas says the developer key is not turned ON for this account.' },
  client_not_allowed_for_user: {
    reason: 'user_not_authorized',
    detail: 'The Canvas user who clicked Authorize may not authorize applications (missing permission to create access tokens).',
  },
  unsupported_response_type: {
    reason: 'state_invalid',
    detail: 'Canvas refused the response type (unsupported_response_type). This service always asks for "code", so the request was altered; start again from this service.',
  },
  unsupported_prompt_type: {
    reason: 'state_invalid',
    detail: 'Canvas refused a prompt parameter (unsupported_prompt_type) that this service never sends; start again from this service.',
  },
  login_required: {
    reason: 'access_denied',
    detail: 'Canvas wanted a login it could not ask for (login_required). Sign in to Canvas in this browser and authorize again.',
  },
  interaction_required: {
    reason: 'access_denied',
    detail: 'Canvas needed you to click Authorize (interaction_required). Authorize again and confirm on the Canvas page.',
  },
  invalid_request: { reason: 'state_invalid', detail: 'Canvas found the authorization request malformed (invalid_request); start again from this service.' },
};

/** A Canvas OAuth error (redirect or JSON body) as a status reason, with the missing scopes when listed. */
export interface ClassifiedAuthorizeError {
  reason: ReasonCode;
  detail: string;
  missingScopes: string[];
}

/**
 * Classifies an `error`/`error_description` pair from Canvas's authorize endpoint (a redirect
 * to our callback, a pasted URL, or the JSON Canvas shows instead of redirecting). Used by the
 * callback, the preflight and the troubleshooting tools, so they always agree.
 */
export function classifyAuthorizeError(error: string, description = ''): ClassifiedAuthorizeError {
  if (error === 'invalid_request' && /redirect_uri/.test(description)) {
    return { reason: 'redirect_uri_mismatch', detail: `Canvas refused the redirect URI: ${description}.`, missingScopes: [] };
  }
  if (error === 'invalid_client') {
    return { reason: 'invalid_client', detail: `Canvas does not know the client id or the key is deactivated (${description || error}).`, missingScopes: [] };
  }
  // Own keys only: `error=toString` or `error=__proto__` must not find Object.prototype members.
  const known = Object.hasOwn(AUTHORIZE_ERRORS, error) ? AUTHORIZE_ERRORS[error] : undefined;
  return {
    reason: known?.reason ?? 'access_denied',
    detail: known ? known.detail : `Canvas answered error=${error}${description ? ` (${description})` : ''}; authorize again.`,
    missingScopes: error === 'invalid_scope' ? parseMissingScopes(description) : [],
  };
}
