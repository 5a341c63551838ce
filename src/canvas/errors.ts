/**
 * Classification of Canvas API failures (auth, scopes, throttle) as facts: what Canvas
 * answered. What a failure means for the connection is decided above, by the integration layer.
 */
import type { CanvasErrorKind, EndpointId } from './types.js';

/** Which token problem a 401 with `WWW-Authenticate` reported. */
export type TokenProblem = 'invalid' | 'expired' | 'revoked';

export interface CanvasFailure {
  kind: CanvasErrorKind;
  status: number;
  /** The first message Canvas gave (`errors[0].message`, `errors`, `message`, `error`, or the text body). */
  canvasMessage?: string;
  /** Set for `token_invalid`. */
  tokenProblem?: TokenProblem;
  /** `X-Rate-Limit-Remaining` when present (useful for throttle backoff). */
  rateLimitRemaining?: number;
  /** Why Canvas refused, in plain words, when the answer says more than its kind (e.g. no valid User-Agent). */
  explanation?: string;
}

/**
 * Hosted Canvas refuses requests without a valid User-Agent with 403
 * `{"error":"Forbidden","message":"You are not authorized to access this site because you have not provided a valid user agent."}`.
 * The service always sends one, so a proxy on the way removed or replaced it.
 */
export const USER_AGENT_REFUSED =
  'Canvas refused the request because it arrived without a valid User-Agent header. This service always sends one, so a proxy between it and Canvas removes or replaces the header: let it through unchanged.';

/** A failed Canvas call. Never carries the token, the Authorization header or a body with secrets. */
export class CanvasApiError extends Error {
  readonly kind: CanvasErrorKind;
  readonly status?: number;
  readonly canvasMessage?: string;
  readonly endpoint?: EndpointId;
  /** For `insufficient_scopes`: the scope the refused endpoint needs (`url:GET|/api/v1/…`). */
  readonly missingScope?: string;
  readonly tokenProblem?: TokenProblem;
  /** Why the request was not sent or a redirect not followed (outbound URL guard), when that is what failed. */
  readonly refused?: string;
  /**
   * Set when a request that is not retried (a `sentOnce` endpoint) failed after it may have
   * reached Canvas (5xx, timeout, network error mid-exchange, unreadable answer): Canvas may
   * or may not have acted on it, and only reading Canvas tells which.
   */
  readonly outcomeUnknown?: boolean;

  constructor(
    kind: CanvasErrorKind,
    message: string,
    opts: {
      status?: number;
      canvasMessage?: string;
      endpoint?: EndpointId;
      missingScope?: string;
      tokenProblem?: TokenProblem;
      refused?: string;
      outcomeUnknown?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'CanvasApiError';
    this.kind = kind;
    this.status = opts.status;
    this.canvasMessage = opts.canvasMessage;
    this.endpoint = opts.endpoint;
    this.missingScope = opts.missingScope;
    this.tokenProblem = opts.tokenProblem;
    this.refused = opts.refused;
    if (opts.outcomeUnknown) this.outcomeUnknown = true;
  }
}

/** Extracts Canvas's human message from an error body in any of its shapes. */
export function canvasMessageOf(bodyText: string): string | undefined {
  const text = bodyText.trim();
  if (!text) return undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      if (Array.isArray(b.errors)) {
        const first = b.errors[0] as unknown;
        if (first && typeof first === 'object' && typeof (first as { message?: unknown }).message === 'string') {
          return (first as { message: string }).message;
        }
      }
      if (typeof b.errors === 'string') return b.errors;
      if (typeof b.message === 'string') return b.message;
      if (typeof b.error === 'string') return b.error;
    }
    return undefined;
  } catch {
    return text.slice(0, 200);
  }
}

function num(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Classifies a Canvas answer. Returns `null` for a 2xx/3xx (success); otherwise the failure kind.
 * Order matters: throttling is recognised before the plain 403, and a 401 is a token problem only
 * when `WWW-Authenticate` is present (Canvas's documented way to tell it from a permission denial).
 */
export function classifyCanvasResponse(status: number, headers: Headers, bodyText: string): CanvasFailure | null {
  if (status < 400) return null;
  const canvasMessage = canvasMessageOf(bodyText);
  const rateLimitRemaining = num(headers.get('x-rate-limit-remaining'));
  const base = { status, canvasMessage, rateLimitRemaining };
  const lower = (canvasMessage ?? '').toLowerCase();

  if (status === 429 || (status === 403 && /rate limit exceeded/i.test(bodyText))) {
    return { kind: 'throttled', ...base };
  }
  if (status === 401 && headers.has('www-authenticate')) {
    const tokenProblem: TokenProblem = lower.startsWith('revoked')
      ? 'revoked'
      : lower.startsWith('expired')
        ? 'expired'
        : 'invalid';
    return { kind: 'token_invalid', tokenProblem, ...base };
  }
  if (status === 403 && lower.includes('valid user agent')) {
    // Not the token owner's permissions: the request itself was refused (§15.13).
    return { kind: 'bad_request', ...base, explanation: USER_AGENT_REFUSED };
  }
  if ((status === 401 || status === 403) && lower.includes('insufficient scopes')) {
    // 401 is canonical; a 403 variant was seen behind a proxy.
    return { kind: 'insufficient_scopes', ...base };
  }
  if (status === 401 || status === 403) return { kind: 'unauthorized', ...base };
  if (status === 404) return { kind: 'not_found', ...base };
  if (status >= 500) return { kind: 'server', ...base };
  return { kind: 'bad_request', ...base };
}

/** True for a {@link CanvasApiError}: recognised by its class, never by its `name`. */
export function isCanvasApiError(err: unknown): err is CanvasApiError {
  return err instanceof CanvasApiError;
}
