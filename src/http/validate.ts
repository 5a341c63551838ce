import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/** A field path as shown in messages: plain when it reads as one (`lti.jwksUrl`), quoted otherwise (`""`). */
function shownField(field: string): string {
  return /^[A-Za-z_$][\w$]*(\.[\w$]+)*$/.test(field) ? field : JSON.stringify(field);
}

/**
 * Converts a zod failure into a `validation_failed` AppError naming the first bad field
 * (unknown fields from `.strict()` schemas are named too).
 */
export function zodToAppError(error: z.ZodError): AppError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new AppError('validation_failed', `${shownField(field)}: is not a known field`, {
      details: { field, unknownFields: issue.keys },
    });
  }
  const field = issue?.path.length ? issue.path.join('.') : '(body)';
  const shown = issue?.path.length ? shownField(field) : field;
  return new AppError('validation_failed', `${shown}: ${issue?.message ?? 'is invalid'}`, { details: { field } });
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
