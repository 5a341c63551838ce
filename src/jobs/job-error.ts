import { AppError } from '../errors/app-error.js';
import { REASON_CODES, REMEDIES, type ReasonCode } from '../errors/reason-codes.js';
import { JobFailure } from './types.js';

const KIND_TO_REASON: Record<string, ReasonCode> = {
  token_invalid: 'token_revoked',
  insufficient_scopes: 'missing_scopes',
  unauthorized: 'user_not_authorized',
  throttled: 'throttled',
  server: 'canvas_unreachable',
  network: 'canvas_unreachable',
  timeout: 'canvas_unreachable',
};

function isReason(v: unknown): v is ReasonCode {
  return typeof v === 'string' && (REASON_CODES as readonly string[]).includes(v);
}

/**
 * Turns anything a job threw into the `{ code, message }` stored on a failed job. Canvas errors
 * (duck-typed on `reason` / `kind`, so this module does not depend on the client's class) map to
 * a ReasonCode; the message then carries the admin's remedy. Unknown errors become `internal`
 * with no detail (their text may hold anything).
 */
export function classifyJobError(err: unknown): { code: string; message: string } {
  if (err instanceof JobFailure) return { code: err.code, message: err.message };
  const e = err as { reason?: unknown; kind?: unknown; message?: unknown } | null;
  const reason = isReason(e?.reason) ? e.reason : typeof e?.kind === 'string' ? KIND_TO_REASON[e.kind] : undefined;
  if (reason) {
    const detail = typeof e?.message === 'string' ? e.message : '';
    return { code: reason, message: `${REMEDIES[reason].title}${detail ? ` (${detail})` : ''}. ${REMEDIES[reason].remedy}` };
  }
  if (typeof e?.kind === 'string') {
    return { code: `canvas_${e.kind}`, message: typeof e.message === 'string' ? e.message : 'Canvas answered with an error.' };
  }
  if (err instanceof AppError && err.expose) return { code: err.code, message: err.message };
  return { code: 'internal', message: 'The job stopped on an unexpected error; see the service log.' };
}
