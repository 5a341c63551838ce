import { CanvasApiError } from '../canvas/errors.js';
import { messageFor } from '../errors/error-codes.js';
import { jobCodeForFailure, reasonForCanvasFailure } from '../integrations/canvas-failure-reason.js';
import { JobFailure, type JobDefinition, type JobKind } from '../jobs/types.js';

/**
 * A job failure for an error met while talking to Canvas (or getting a token), with its true
 * code and the admin's remedy in the message; any other error is returned unchanged (aborts,
 * lease losses and bugs must reach the runner as they are).
 */
export function toJobFailure(err: unknown): unknown {
  if (err instanceof JobFailure) return err;
  // This service's own outbound guard stopped the request: Canvas was never asked, so "may be down,
  // try again later" would send the admin the wrong way. The code stays canvas_unreachable.
  if (err instanceof CanvasApiError && err.refused && reasonForCanvasFailure(err) === 'canvas_unreachable') {
    return new JobFailure('canvas_unreachable', `Canvas was not called: ${err.refused}. Check the Canvas URL on the integration's LMS settings (an https address of the institution's Canvas).`, { cause: err });
  }
  const decided = jobCodeForFailure(err);
  return decided ? new JobFailure(decided.code, messageFor(decided.code, decided.detail), { cause: err }) : err;
}

/** Wraps a job so that what it throws reaches the runner as {@link toJobFailure} decides. */
export function withFailureCodes<K extends JobKind, C>(def: JobDefinition<K, C>): JobDefinition<K, C> {
  return {
    ...def,
    async run(ctx) {
      try {
        return await def.run(ctx);
      } catch (err) {
        throw toJobFailure(err);
      }
    },
  };
}
