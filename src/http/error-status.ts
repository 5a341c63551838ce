import type { AppErrorCode } from '../errors/app-error.js';

/** HTTP status for each error code; a new code without a status here fails to compile. */
export const ERROR_STATUS: Record<AppErrorCode, number> = {
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
};
