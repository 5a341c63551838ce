import { AppError } from '../errors/app-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { JobFailure } from './types.js';

/**
 * Turns anything a job threw into the `{ code, message }` stored on a failed job. A
 * {@link JobFailure} keeps its code and message: the service layer (see sync/job-failures.ts)
 * already turned Canvas and token failures into one, with the true reason and the remedy, so this
 * runner needs no Canvas vocabulary. Unknown errors become `internal` with no detail (their text
 * may hold anything).
 */
export function classifyJobError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof JobFailure) return { code: err.code, message: err.message };
  if (err instanceof AppError && err.expose) return { code: err.code, message: err.message };
  return { code: 'internal', message: 'The job stopped on an unexpected error; see the service log.' };
}
