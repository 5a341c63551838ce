import type { ErrorCode } from '../errors/error-codes.js';

/**
 * HTTP status for every error code (request codes, connection reasons, job codes); a new code
 * without a status here fails to compile. What Canvas refused or failed at is a 502: the request
 * was fine, the upstream was not.
 */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  not_connected: 409,
  rate_limited: 429,
  csrf_failed: 403,
  canvas_error: 502,
  config_invalid: 500,
  internal: 500,
  // connection reasons
  access_denied: 502,
  missing_scopes: 502,
  developer_key_off: 502,
  invalid_client: 502,
  redirect_uri_mismatch: 502,
  user_not_authorized: 502,
  includes_not_allowed: 502,
  sis_ids_hidden: 502,
  token_revoked: 502,
  token_owner_inactive: 502,
  state_invalid: 400,
  canvas_unreachable: 502,
  throttled: 502,
  // job codes
  token_invalid: 502,
  report_unreadable: 502,
  course_not_found: 404,
  account_not_found: 404,
  canvas_not_found: 404,
  canvas_bad_request: 502,
};
