import { CanvasApiError, type TokenProblem } from '../canvas/errors.js';
import type { CanvasErrorKind } from '../canvas/types.js';
import type { JobErrorCode } from '../errors/error-codes.js';
import { TokenUnavailableError } from '../oauth/token-source.js';
import type { ReasonCode } from './reasons.js';

/**
 * Decides which connection reason a Canvas API failure means. `null` means the caller decides: an
 * "Invalid"/"Expired" token must first be refreshed, and only the caller knows whether that makes it
 * `developer_key_off`, `token_owner_inactive` or `token_revoked`; `not_found` and `bad_request`
 * depend on what was asked.
 */
export function reasonForCanvasFailure(err: { kind: CanvasErrorKind; tokenProblem?: TokenProblem }): ReasonCode | null {
  switch (err.kind) {
    case 'insufficient_scopes':
      return 'missing_scopes';
    case 'unauthorized':
      return 'user_not_authorized';
    case 'throttled':
      return 'throttled';
    case 'server':
    case 'network':
    case 'timeout':
    case 'malformed':
      return 'canvas_unreachable';
    case 'token_invalid':
      return err.tokenProblem === 'revoked' ? 'token_revoked' : null;
    case 'not_found':
    case 'bad_request':
      return null;
  }
}

/**
 * The code a job records for an error met while talking to Canvas, keeping the true cause: a
 * token Canvas called invalid (not revoked) stays `token_invalid`; a 404 or 400 that the job did
 * not turn into something more precise is `canvas_not_found` / `canvas_bad_request`. `null` for
 * errors that are not Canvas or token failures.
 */
export function jobCodeForFailure(err: unknown): { code: JobErrorCode; detail: string } | null {
  if (err instanceof TokenUnavailableError) return { code: err.reason, detail: err.message };
  if (!(err instanceof CanvasApiError)) return null;
  const reason = reasonForCanvasFailure(err);
  if (reason) return { code: reason, detail: err.message };
  switch (err.kind) {
    case 'token_invalid':
      return { code: 'token_invalid', detail: err.message };
    case 'not_found':
      return { code: 'canvas_not_found', detail: err.message };
    default:
      return { code: 'canvas_bad_request', detail: err.message };
  }
}
