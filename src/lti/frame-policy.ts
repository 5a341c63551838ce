import type { ServerResponse } from 'node:http';

/** Every hosted Canvas (and its beta/test instances) lives under this wildcard. */
export const INSTRUCTURE_FRAME_ANCESTOR = 'https://*.instructure.com';

/** The origin to allow as a frame ancestor for a Canvas URL, or null when the wildcard already covers it. */
export function canvasFrameAncestor(canvasUrl: string): string | null {
  try {
    const u = new URL(canvasUrl);
    if (u.protocol === 'https:' && (u.hostname === 'instructure.com' || u.hostname.endsWith('.instructure.com'))) return null;
    return u.origin;
  } catch {
    return null;
  }
}

/**
 * Adds one origin to the `frame-ancestors` directive of the Content-Security-Policy header helmet
 * already set on this response, and drops `X-Frame-Options` (which would block any cross-origin
 * frame). Used on LTI pages for an integration whose Canvas is not on `*.instructure.com`
 * (self-hosted, the sandbox), so only THAT institution's Canvas may frame them.
 */
export function allowFrameAncestor(res: ServerResponse, origin: string | null): void {
  if (!origin) return;
  allowFrameAncestors(res, [origin]);
}

/**
 * Lets these origins frame this response: adds them to `frame-ancestors` (next to `'self'`) and
 * drops `X-Frame-Options`. Every other page keeps `frame-ancestors 'self'` and
 * `X-Frame-Options: SAMEORIGIN`, so only what an LTI launch shows can sit in Canvas's iframe.
 */
export function allowFrameAncestors(res: ServerResponse, origins: readonly string[]): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp !== 'string' || origins.length === 0) return;
  const parts = csp.split(';').map((p) => p.trim()).filter(Boolean);
  const i = parts.findIndex((p) => p.startsWith('frame-ancestors'));
  const directive = parts[i];
  if (directive === undefined) return;
  const values = directive.split(/\s+/).slice(1);
  const added = origins.filter((o) => !values.includes(o));
  parts[i] = ['frame-ancestors', ...values, ...added].join(' ');
  res.setHeader('Content-Security-Policy', parts.join(';'));
  res.removeHeader('X-Frame-Options');
}
