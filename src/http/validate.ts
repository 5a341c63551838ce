import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/**
 * Converts a zod failure into a `validation_failed` AppError naming the first bad field
 * (unknown fields from `.strict()` schemas are named too).
 */
export function zodToAppError(error: z.ZodError): AppError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new AppError('validation_failed', `${field}: is not a known field`, {
      details: { field, unknownFields: issue.keys },
    });
  }
  const field = issue?.path.length ? issue.path.join('.') : '(body)';
  return new AppError('validation_failed', `${field}: ${issue?.message ?? 'is invalid'}`, { details: { field } });
}

/**
 * Parses `input` with `schema` for an entry point.
 * @throws AppError `validation_failed` naming the field (400).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodToAppError(result.error);
  return result.data;
}
