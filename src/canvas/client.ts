/**
 * The Canvas REST client: declared endpoints only, bearer token from an {@link AccessTokenSource},
 * throttle-aware retries, Link pagination. Knows HTTP and Canvas, nothing of storage or OAuth.
 */
import type { Logger } from '../logger/logger.js';
import { findOutboundRefusal, OutboundRequestRefusedError } from '../net/url-guard.js';
import { ENDPOINTS, scopeFor, type EndpointDeclaration } from './endpoints.js';
import { CanvasApiError, classifyCanvasResponse, type CanvasFailure } from './errors.js';
import { canvasFileHost } from './file-hosts.js';
import { canvasRequests, throttleWait } from '../metrics/metrics.js';
import { createThrottleGovernor, type GovernorResponseInfo, type ThrottleGovernor } from './governor.js';
import { PER_PAGE, followPages, linksOf } from './pagination.js';
import type {
  AccessTokenSource,
  CanvasClient,
  CanvasRequest,
  CanvasResponse,
  EndpointId,
  QueryValue,
} from './types.js';

export interface CanvasClientOptions {
  /** The Canvas origin, e.g. `https://school.instructure.com` (a path, if any, is ignored). */
  baseUrl: string;
  /**
   * The HTTP client; in the product the guarded fetch (src/net/guarded-fetch.ts), which refuses
   * private addresses at connect time. Redirects are followed by this client, not by fetch.
   */
  fetch?: typeof globalThis.fetch;
  /** Sent on every request; Canvas rejects requests without one. */
  userAgent: string;
  /**
   * Adaptive concurrency for the token's bucket. Default: a fresh governor per client (so one
   * client per job/integration is governed); pass a shared one to govern several clients of the
   * same token, or `null` to disable.
   */
  governor?: ThrottleGovernor | null;
  /** Per-attempt timeout for API calls (default 30 s; Canvas's load balancers give up at 60 s). */
  timeoutMs?: number;
  /** Per-attempt timeout for `download()` (default 5 min: a report file can be large). */
  downloadTimeoutMs?: number;
  /**
   * The institution's Canvas under another name (the integration's `canvasOtherUrl`): a file URL
   * Canvas names there may get the token ({@link canvasFileHost}); any other origin is refused.
   */
  otherUrl?: string | null;
  /** Retries for 5xx, network errors, timeouts and malformed bodies (default 3). */
  maxRetries?: number;
  /** Tries for throttled answers before giving up (default 8); throttling is normal, not an error. */
  maxThrottleTries?: number;
  /** Total time a request may spend waiting out throttles (default 2 min). */
  throttleBudgetMs?: number;
  /** Longest single backoff (default 30 s). */
  maxBackoffMs?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
}

export interface CanvasClientStats {
  requests: number;
  throttled: number;
  retries: number;
  peakInFlight: number;
  refreshes: number;
}

export interface CreatedCanvasClient extends CanvasClient {
  stats(): CanvasClientStats;
  /** The governor in use (undefined when disabled), e.g. to show its limit in a job summary. */
  governor?: ThrottleGovernor;
  /** The absolute URL the client would call for a request (for diagnostics and tests). */
  urlFor(req: CanvasRequest): string;
}

/** Redirect hops followed for one request. */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Connection errors that happen before any byte of the request is sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a network failure happened before the connection was made (fetch puts the socket error in `cause`). */
function neverConnected(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
  }
  return false;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

/** Encodes a path segment, keeping `:` readable (valid in a segment; used by `sis_course_id:X`). */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

function buildPath(ep: EndpointDeclaration, params: Record<string, string> = {}): string {
  return ep.path.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
    const value = params[name] ?? ep.defaults?.[name];
    if (value === undefined || value === '') {
      throw new TypeError(`Canvas endpoint ${ep.id} needs path parameter "${name}"`);
    }
    return encodeSegment(value);
  });
}

/** Rails-style query: arrays become `key[]=a&key[]=b` (brackets literal), keys in the given order. */
export function encodeQuery(query: Record<string, QueryValue | undefined> = {}): string {
  const parts: string[] = [];
  const enc = (s: string) => encodeURIComponent(s);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      const k = key.endsWith('[]') ? key.slice(0, -2) : key;
      for (const v of value) parts.push(`${enc(k)}[]=${enc(String(v))}`);
    } else {
      parts.push(`${enc(key)}=${enc(String(value))}`);
    }
  }
  return parts.join('&');
}

function num(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

interface Attempt {
  method: string;
  url: string;
  endpoint?: EndpointId;
  form?: Record<string, string>;
  accept: string;
  parse: 'json' | 'bytes';
  timeoutMs: number;
  /** The endpoint is `sentOnce`: an answer lost after sending is not retried. */
  sentOnce?: boolean;
  /** Set for downloads: redirects to a storage host are followed (without the token). */
  download?: {
    /** The origin of a file URL Canvas named: it gets the token too, besides the Canvas origin. */
    fileOrigin?: string;
  };
}

/**
 * Creates a Canvas client for one Canvas origin. Retry policy:
 * - throttled (403 `Rate Limit Exceeded`, 429): retried up to `maxThrottleTries` tries or
 *   `throttleBudgetMs`, then `throttled`. With a governor (the default) the wait happens in the
 *   governor, which holds every request until the bucket has room; without one the request
 *   itself waits (50 − remaining)/10 s + jitter;
 * - 5xx, network errors, timeouts, malformed JSON: jittered exponential backoff, `maxRetries`;
 *   except for a `sentOnce` endpoint (update_grades, assignment create), which fails at once with
 *   `outcomeUnknown` unless the connection was never made (Canvas may have acted on it);
 * - 401 with `WWW-Authenticate`: `auth.refresh(rejected)` once, then retry; a second one throws;
 * - never retried: plain 403/401 permission denials, insufficient scopes, 404, other 4xx.
 * Every method throws {@link CanvasApiError}, except that an error thrown by the token source
 * (`current()` / `refresh()`, e.g. a refresh that found the token revoked) propagates unchanged.
 */
export function createCanvasClient(opts: CanvasClientOptions): CreatedCanvasClient {
  const origin = new URL(opts.baseUrl).origin;
  const otherOrigin = opts.otherUrl ? new URL(opts.otherUrl).origin : null;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const downloadTimeoutMs = opts.downloadTimeoutMs ?? Math.max(timeoutMs, 300_000);
  const maxRetries = opts.maxRetries ?? 3;
  const maxThrottleTries = opts.maxThrottleTries ?? 8;
  const throttleBudgetMs = opts.throttleBudgetMs ?? 120_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const now = () => (opts.clock ?? (() => new Date()))().getTime();
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const governor =
    opts.governor === null ? undefined : (opts.governor ?? createThrottleGovernor({ clock: opts.clock, sleep: opts.sleep }));
  const log = opts.logger;

  const counters = { requests: 0, throttled: 0, retries: 0, peakInFlight: 0, refreshes: 0 };
  let inFlight = 0;

  function endpoint(id: EndpointId): EndpointDeclaration {
    const ep = ENDPOINTS[id];
    // Typed ids make this a compile error; the runtime check guards JS callers and casts.
    if (!ep) throw new TypeError(`Refusing undeclared Canvas endpoint "${String(id)}"`);
    return ep;
  }

  function urlFor(req: CanvasRequest): string {
    const ep = endpoint(req.endpoint);
    const qs = encodeQuery(req.query);
    return `${origin}${buildPath(ep, req.path)}${qs ? `?${qs}` : ''}`;
  }

  function assertSameOrigin(url: string, what: string): void {
    let target: string;
    try {
      target = new URL(url).origin;
    } catch {
      throw new CanvasApiError('bad_request', `${what}: not a URL`);
    }
    // The bearer token must never be sent to another host.
    if (target !== origin) throw new CanvasApiError('bad_request', `${what}: refusing a URL outside ${origin}`);
  }

  function throttleBackoff(remaining: number | undefined): number {
    // With a governor, its bucket model makes every request (this one included) wait in acquire()
    // until a reservation fits; a little jitter keeps retries from arriving in lockstep.
    if (governor) return random() * 500;
    return Math.min(maxBackoffMs, Math.max(1000, ((50 - (remaining ?? 0)) / 10) * 1000) + random() * 1000);
  }

  function errorBackoff(retry: number): number {
    const exp = Math.min(maxBackoffMs, 500 * 2 ** retry);
    return exp / 2 + random() * (exp / 2);
  }

  function toError(f: CanvasFailure, a: Attempt, cause?: unknown, refused?: string, outcomeUnknown?: boolean): CanvasApiError {
    const what = a.endpoint ?? 'download';
    const status = f.status > 0 ? f.status : undefined;
    const message = refused
      ? `Canvas ${what} not sent: ${refused}`
      : f.explanation
        ? `Canvas ${what} refused (HTTP ${status}): ${f.explanation}`
        : `Canvas ${what} failed: ${f.kind}${status ? ` (HTTP ${status})` : ''}`;
    return new CanvasApiError(f.kind, message, {
      refused,
      status,
      canvasMessage: f.canvasMessage,
      endpoint: a.endpoint,
      tokenProblem: f.tokenProblem,
      missingScope: f.kind === 'insufficient_scopes' && a.endpoint ? scopeFor(a.endpoint) : undefined,
      outcomeUnknown,
      cause,
    });
  }

  /**
   * One exchange, following redirects here (never by fetch): an API call follows them only within
   * the Canvas origin; a download also to its file URL's origin, and to a storage host Canvas
   * sends the file from, without the token. The token goes only to the Canvas origin and the
   * download's file origin. Every hop goes through the injected (guarded) fetch.
   * @throws OutboundRequestRefusedError for a redirect it will not follow.
   */
  async function send(a: Attempt, token: string) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), a.timeoutMs);
    const tokenOrigins = new Set([origin, ...(a.download?.fileOrigin ? [a.download.fileOrigin] : [])]);
    let url = a.url;
    let method = a.method;
    let body: string | undefined = a.form ? new URLSearchParams(a.form).toString() : undefined;
    try {
      for (let hop = 0; ; hop++) {
        const headers: Record<string, string> = { 'User-Agent': opts.userAgent, Accept: a.accept };
        if (tokenOrigins.has(new URL(url).origin)) headers.Authorization = `Bearer ${token}`;
        if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
        const res = await doFetch(url, { method, headers, body, signal: controller.signal, redirect: 'manual' });
        const location = res.headers.get('location');
        if (REDIRECT_STATUSES.has(res.status) && location !== null) {
          await res.arrayBuffer().catch(() => undefined);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            throw new OutboundRequestRefusedError(`Canvas redirected to an invalid URL; not followed`);
          }
          const what = a.endpoint ?? 'download';
          if (hop >= MAX_REDIRECTS) throw new OutboundRequestRefusedError(`Canvas redirected ${what} more than ${MAX_REDIRECTS} times; not followed`);
          if (!tokenOrigins.has(next.origin) && !a.download) {
            throw new OutboundRequestRefusedError(
              `Canvas redirected ${what} to ${next.origin}, outside ${origin}; not followed (is the Canvas URL the instance's own address?)`,
            );
          }
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          url = next.href;
          continue;
        }
        // The timeout covers reading the body too: a stalled download is aborted like a stalled answer.
        const bytes = new Uint8Array(await res.arrayBuffer());
        return { res, bytes, url };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  type Outcome<T> =
    | { ok: true; response: CanvasResponse<T>; bytes: Uint8Array }
    | { ok: false; failure: CanvasFailure; cause?: unknown; refused?: string };

  /** One HTTP exchange under the governor, classified. Never throws for HTTP or network trouble. */
  async function attempt<T>(a: Attempt, token: string): Promise<Outcome<T>> {
    if (governor) {
      const waitStart = performance.now();
      await governor.acquire();
      const waited = (performance.now() - waitStart) / 1000;
      if (waited >= 0.001) throttleWait.observe({ source: 'governor' }, waited);
    }
    inFlight++;
    counters.peakInFlight = Math.max(counters.peakInFlight, inFlight);
    counters.requests++;
    let info: GovernorResponseInfo | undefined;
    try {
      const { res, bytes, url } = await send(a, token);
      canvasRequests.inc({ endpoint: a.endpoint ?? 'download', status: String(res.status) });
      const rateLimitRemaining = num(res.headers.get('x-rate-limit-remaining'));
      const requestCost = num(res.headers.get('x-request-cost'));
      const failure = classifyCanvasResponse(res.status, res.headers, res.status >= 400 ? decoder.decode(bytes) : '');
      info = { throttled: failure?.kind === 'throttled', rateLimitRemaining, requestCost };
      if (failure) return { ok: false, failure };
      let body: unknown = bytes;
      if (a.parse === 'json') {
        const text = decoder.decode(bytes);
        try {
          body = text.trim() === '' ? null : JSON.parse(text);
        } catch (err) {
          return { ok: false, failure: { kind: 'malformed', status: res.status }, cause: err };
        }
      }
      return {
        ok: true,
        bytes,
        response: {
          status: res.status,
          body: body as T,
          headers: res.headers,
          links: linksOf(res.headers, url),
          requestCost,
          rateLimitRemaining,
        },
      };
    } catch (err) {
      // A refused URL, address or redirect is final: retrying would be refused again.
      const refusal = findOutboundRefusal(err);
      if (refusal) {
        canvasRequests.inc({ endpoint: a.endpoint ?? 'download', status: 'refused' });
        return { ok: false, failure: { kind: 'network', status: 0 }, cause: err, refused: refusal.message };
      }
      const name = (err as { name?: unknown } | null)?.name;
      const kind = name === 'AbortError' || name === 'TimeoutError' ? 'timeout' : 'network';
      canvasRequests.inc({ endpoint: a.endpoint ?? 'download', status: kind });
      return { ok: false, failure: { kind, status: 0 }, cause: err };
    } finally {
      inFlight--;
      governor?.release(info);
    }
  }

  async function execute<T>(a: Attempt, auth: AccessTokenSource): Promise<{ response: CanvasResponse<T>; bytes: Uint8Array }> {
    let token = await auth.current(origin);
    let refreshed = false;
    let errorRetries = 0;
    let throttleTries = 0;
    let firstThrottleAt: number | null = null;

    for (;;) {
      const out = await attempt<T>(a, token);
      if (out.ok) return out;
      const { failure } = out;
      if (out.refused) throw toError(failure, a, out.cause, out.refused);
      switch (failure.kind) {
        case 'throttled': {
          counters.throttled++;
          throttleTries++;
          firstThrottleAt ??= now();
          const wait = throttleBackoff(failure.rateLimitRemaining);
          if (throttleTries >= maxThrottleTries || now() - firstThrottleAt + wait > throttleBudgetMs) break;
          log?.debug({ endpoint: a.endpoint, attempt: throttleTries, waitMs: Math.round(wait) }, 'canvas throttled; backing off');
          counters.retries++;
          throttleWait.observe({ source: 'backoff' }, wait / 1000);
          await sleep(wait);
          continue;
        }
        case 'server':
        case 'network':
        case 'timeout':
        case 'malformed': {
          // Canvas may have acted on it: a second send could act twice. Only a connection that
          // was never opened is known not to have reached Canvas.
          if (a.sentOnce && !neverConnected(out.cause)) throw toError(failure, a, out.cause, undefined, true);
          if (errorRetries >= maxRetries) break;
          const wait = errorBackoff(errorRetries);
          errorRetries++;
          counters.retries++;
          log?.debug({ endpoint: a.endpoint, kind: failure.kind, status: failure.status, attempt: errorRetries }, 'canvas request failed; retrying');
          await sleep(wait);
          continue;
        }
        case 'token_invalid': {
          if (refreshed) break;
          // Only a 401 with WWW-Authenticate lands here; `Insufficient scopes` never does.
          refreshed = true;
          counters.refreshes++;
          counters.retries++;
          token = await auth.refresh(token, origin);
          continue;
        }
        default:
          break;
      }
      throw toError(failure, a, out.cause);
    }
  }

  const client: CreatedCanvasClient = {
    async request<T>(req: CanvasRequest, auth: AccessTokenSource): Promise<CanvasResponse<T>> {
      const ep = endpoint(req.endpoint);
      const { response } = await execute<T>(
        { method: ep.method, url: urlFor(req), endpoint: ep.id, form: req.form, accept: 'application/json', parse: 'json', timeoutMs, sentOnce: ep.sentOnce === true },
        auth,
      );
      return response;
    },

    pages<T>(req: CanvasRequest, auth: AccessTokenSource): AsyncIterable<T[]> {
      const ep = endpoint(req.endpoint);
      if (ep.method !== 'GET') throw new TypeError(`Canvas endpoint ${ep.id} is not a list`);
      const first = () =>
        execute<unknown>(
          {
            method: 'GET',
            url: urlFor({ ...req, query: { ...req.query, page: undefined, per_page: PER_PAGE } }),
            endpoint: ep.id,
            accept: 'application/json',
            parse: 'json',
            timeoutMs,
          },
          auth,
        ).then((r) => r.response);
      const next = (url: string) => {
        assertSameOrigin(url, 'Link rel="next"');
        return execute<unknown>({ method: 'GET', url, endpoint: ep.id, accept: 'application/json', parse: 'json', timeoutMs }, auth).then(
          (r) => r.response,
        );
      };
      return followPages<T>(first, next, PER_PAGE);
    },

    async download(url: string, auth: AccessTokenSource, dl: { namedByCanvas?: boolean } = {}): Promise<Uint8Array> {
      let fileOrigin: string | undefined;
      if (dl.namedByCanvas) {
        try {
          fileOrigin = new URL(url).origin;
        } catch {
          throw new CanvasApiError('bad_request', 'download: not a URL');
        }
        if (fileOrigin === 'null') throw new CanvasApiError('bad_request', 'download: not an http or https URL');
        const verdict = canvasFileHost(origin, fileOrigin, otherOrigin);
        if (!verdict.ok) throw new CanvasApiError('bad_request', `download: ${verdict.why}`, { refused: verdict.why });
      } else {
        assertSameOrigin(url, 'download');
      }
      // Accept */*: a report file is a zip or CSV, not JSON. A file URL Canvas named may be on another
      // of its host names (older Canvas builds it from the root account's host), so that origin gets
      // the token for this download only, when canvasFileHost accepts it. Canvas may then redirect to its file store (no token).
      const { bytes } = await execute<Uint8Array>(
        { method: 'GET', url, accept: '*/*', parse: 'bytes', timeoutMs: downloadTimeoutMs, download: { fileOrigin } },
        auth,
      );
      return bytes;
    },

    stats: () => ({ ...counters, peakInFlight: Math.max(counters.peakInFlight, governor?.peakInFlight() ?? 0) }),
    urlFor,
    governor,
  };
  return client;
}
