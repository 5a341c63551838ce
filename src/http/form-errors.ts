import type { z } from 'zod';

/** One invalid form field, worded for a person: the field's label, what is wrong, and how to fix it. */
export interface FieldError {
  field: string;
  label: string;
  /** A sentence starting with the label, e.g. "Canvas URL must start with https://". */
  message: string;
  help?: string;
}

export type FieldLabels = Record<string, { label: string; help?: string }>;

/**
 * Turns a zod failure into per-field errors for a page. The schemas' messages are written for the
 * JSON API and start with the field's code name ("canvasUrl must …"); pages show the visible label
 * instead, and add the field's help so every error says what to enter. One error per field.
 */
export function fieldErrorsFromZod(error: z.ZodError, labels: FieldLabels): FieldError[] {
  const out = new Map<string, FieldError>();
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.set(key, { field: key, label: key, message: `${key} is not a field of this form.` });
      continue;
    }
    const field = String(issue.path[0] ?? '');
    if (out.has(field)) continue;
    const known = labels[field];
    const label = known?.label ?? (field || 'The form');
    let text = issue.message.trim();
    for (const prefix of [`${field}: `, `${field} `]) if (field && text.startsWith(prefix)) text = text.slice(prefix.length);
    const sentence = /^(is|must|needs|has|should|cannot|does)\b/.test(text) ? `${label} ${text}` : `${label}: ${text}`;
    out.set(field, { field, label, message: /[.!?/]$/.test(sentence) ? sentence : `${sentence}.`, help: known?.help });
  }
  return [...out.values()];
}
