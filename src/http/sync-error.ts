import { isCanvasApiError } from '../canvas/errors.js';
import { AppError } from '../errors/app-error.js';
import { reasonForCanvasFailure } from '../integrations/canvas-failure-reason.js';
import { REMEDIES } from '../integrations/reasons.js';
import { JobFailure } from '../jobs/types.js';

/**
 * Turns Canvas and job failures met during a synchronous call into errors people can act on. A job
 * failure keeps its own code, so the answer carries that code's status and remedy.
 */
export function toSyncError(err: unknown): unknown {
  if (isCanvasApiError(err)) {
    const reason = reasonForCanvasFailure(err);
    return new AppError('canvas_error', reason ? REMEDIES[reason].title : `Canvas answered with an error (${err.kind}).`, {
      help: reason ? REMEDIES[reason].remedy : undefined,
      details: { reason: reason ?? err.kind, ...(err.refused ? { refused: err.refused } : {}) },
      cause: err,
    });
  }
  if (err instanceof JobFailure) return new AppError(err.code, err.message, { cause: err });
  return err;
}
