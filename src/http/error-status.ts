import type { ErrorCode } from '../errors/error-codes.js';
import { REASON_CODES, type ReasonCode } from '../errors/reason-codes.js';

/**
 * Connection reasons describe what Canvas refused or failed at: the request to us was fine, the
 * upstream was not, so each is a 502 unless listed in {@link ERROR_STATUS} itself. A new reason
 * code therefore needs no entry here.
 */
const REASON_STATUS = Object.fromEntries(REASON_CODES.map((code) => [code, 502])) as Record<ReasonCode, number>;

/**
 * HTTP status for every error code (request codes, connection reasons, job codes); a new request or
 * job code without a status here fails to compile.
 */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  ...REASON_STATUS,
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
  // a connection reason that is the caller's to fix
  state_invalid: 400,
  // job codes
  token_invalid: 502,
  report_unreadable: 502,
  course_not_found: 404,
  account_not_found: 404,
  canvas_not_found: 404,
  canvas_bad_request: 502,
  grade_post_failed: 502,
  assignment_unpublished: 409,
} satisfies Record<Exclude<ErrorCode, ReasonCode>, number> & Partial<Record<ReasonCode, number>>;
