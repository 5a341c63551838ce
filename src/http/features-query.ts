import { isFeature } from '../canvas/endpoints.js';
import type { Feature } from '../canvas/types.js';
import { AppError } from '../errors/app-error.js';

/**
 * Parses `?features=a,b` (pages and API) into features; undefined when absent or empty (the caller picks the default).
 * @throws AppError validation_failed naming the unknown features
 */
export function parseFeatures(value: unknown): Feature[] | undefined {
  if (value === undefined || value === '') return undefined;
  const names = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !isFeature(n));
  if (bad.length) {
    throw new AppError('validation_failed', `features: unknown feature ${bad.join(', ')}`, {
      details: { field: 'features' },
      help: 'Use connection, course_refresh, course_refresh_bulk, roster_sync, grade_passback (comma-separated).',
    });
  }
  return names as Feature[];
}
