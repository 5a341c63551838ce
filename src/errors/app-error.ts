import { ERROR_HELP, type ErrorCode } from './error-codes.js';

/**
 * The generic error codes of requests. With the connection reasons and the job codes they make up
 * {@link ErrorCode}; the HTTP layer maps every ErrorCode to a status in one
 * `Record<ErrorCode, number>` table, so adding a code without a status fails to compile.
 */
export type AppErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'not_connected'
  | 'rate_limited'
  | 'csrf_failed'
  | 'canvas_error'
  | 'config_invalid'
  | 'internal';

/**
 * An error meant for a person. `expose` says whether `message` may be shown to the client;
 * unexposed errors are presented as a generic "Something went wrong" with no detail. Any
 * {@link ErrorCode} may be raised; `help` defaults to the code's remedy when it has one.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly expose: boolean;
  readonly help?: string;
  /** Extra machine-readable detail safe to return (e.g. `{ field: 'canvasUrl' }`). */
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { expose?: boolean; help?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.expose = opts.expose ?? code !== 'internal';
    this.help = opts.help ?? ERROR_HELP[code]?.remedy;
    this.details = opts.details;
  }
}

/** Normalises anything thrown into an {@link AppError}; unknown errors become an unexposed `internal`. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', 'Something went wrong on our side.', { expose: false, cause: err });
}

/** Shorthand for a 400 that names the field and the fix. */
export function invalid(field: string, message: string, help?: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, { help, details: { field } });
}
