import type { ReasonCode } from './reasons.js';
import { classifyAuthorizeError } from './authorize-errors.js';

export interface DiagnosedUrl {
  error: string | null;
  description: string | null;
  missingScopes: string[];
  /** The status reason this error means (same classification as the callback), or null. */
  reason: ReasonCode | null;
}

function diagnosed(error: string | null, description: string | null): DiagnosedUrl {
  if (!error) return { error: null, description, missingScopes: [], reason: null };
  const c = classifyAuthorizeError(error, description ?? '');
  return { error, description, missingScopes: c.missingScopes, reason: c.reason };
}

/**
 * Parses a URL pasted from a Canvas error page or a failed redirect (`…?error=invalid_scope&
 * error_description=…`), or Canvas's raw JSON error body, into the error, its description and
 * the missing scopes (`POST /api/v1/diagnostics/authorize-url`).
 * Returns nulls when nothing recognisable is found; never throws.
 */
export function diagnoseAuthorizeUrl(input: string): DiagnosedUrl {
  const raw = input.trim();
  try {
    const body = JSON.parse(raw) as { error?: unknown; error_description?: unknown };
    if (body && typeof body.error === 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : null;
      return diagnosed(body.error, description);
    }
  } catch {
    // not JSON: a URL
  }
  let params: URLSearchParams;
  try {
    const u = new URL(raw);
    params = new URLSearchParams(u.search);
    if (!params.get('error') && u.hash) params = new URLSearchParams(u.hash.slice(1));
  } catch {
    params = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : raw);
  }
  return diagnosed(params.get('error'), params.get('error_description'));
}
