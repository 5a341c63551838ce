/**
 * The closed set of error codes the service raises. The HTTP layer maps each to a status in one
 * `Record<AppErrorCode, number>` table, so adding a code without a status fails to compile.
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
 * unexposed errors are presented as a generic "Something went wrong" with no detail.
 */
export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly expose: boolean;
  readonly help?: string;
  /** Extra machine-readable detail safe to return (e.g. `{ field: 'canvasUrl' }`). */
  readonly details?: Record<string, unknown>;

  constructor(
    code: AppErrorCode,
    message: string,
    opts: { expose?: boolean; help?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.expose = opts.expose ?? code !== 'internal';
    this.help = opts.help;
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
