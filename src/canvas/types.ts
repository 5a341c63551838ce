/**
 * The Canvas client's public contract. Implemented in this folder (client.ts, pagination.ts,
 * governor.ts, errors.ts, endpoints.ts); used by oauth/, integrations/ and sync/.
 * The client knows HTTP and Canvas, nothing of storage: it gets its access token from an
 * {@link AccessTokenSource} on every call.
 */

/**
 * Where the client gets the bearer token. `refresh` is called at most once per request, only
 * after Canvas answered 401 with `WWW-Authenticate` (a token problem), never for
 * `Insufficient scopes on access token.` The implementation (oauth/) does single-flight refresh.
 */
export interface AccessTokenSource {
  /**
   * The token to send. `canvasUrl` is the origin the client is about to send it to: a source
   * refuses (throws) when that is not the Canvas the token was issued for.
   */
  current(canvasUrl?: string): Promise<string>;
  /** Returns a fresh token; `rejected` is the token Canvas refused (skip refreshing if it already changed). */
  refresh(rejected: string, canvasUrl?: string): Promise<string>;
}

/** Identifiers of declared endpoints; see endpoints.ts for method, path template, feature and scope. */
export type EndpointId =
  | 'users.self'
  | 'accounts.courses'
  | 'accounts.roles'
  | 'accounts.permissions'
  | 'accounts.reports.start'
  | 'accounts.reports.status'
  | 'accounts.get'
  | 'courses.get'
  | 'courses.sections'
  | 'courses.enrollments'
  | 'assignments.list'
  | 'assignments.create'
  | 'assignments.get'
  | 'submissions.list'
  | 'submissions.update_grades'
  | 'progress.get';

export type Feature = 'connection' | 'course_refresh' | 'course_refresh_bulk' | 'roster_sync' | 'grade_passback';

export type QueryValue = string | number | boolean | Array<string | number>;

export interface CanvasRequest {
  endpoint: EndpointId;
  /** Values for the path template's `:params`, URL-encoded by the client. */
  path?: Record<string, string>;
  query?: Record<string, QueryValue | undefined>;
  /** Form body for POST endpoints (e.g. report parameters). */
  form?: Record<string, string>;
}

export interface CanvasResponse<T> {
  status: number;
  body: T;
  headers: Headers;
  /** Parsed `Link` header rels (lower-cased rel names), absolute URLs. */
  links: Partial<Record<'current' | 'next' | 'prev' | 'first' | 'last', string>>;
  /** `X-Request-Cost`, when Canvas sent it. */
  requestCost?: number;
  /** `X-Rate-Limit-Remaining`, when Canvas sent it. */
  rateLimitRemaining?: number;
}

/**
 * How a failed Canvas answer is classified (see errors.ts `classifyCanvasResponse`):
 * - `token_invalid`: 401 with WWW-Authenticate (`Invalid access token.` / `Expired…` / `Revoked…`);
 * - `insufficient_scopes`: 401 `Insufficient scopes on access token.` (never refreshed);
 * - `unauthorized`: `user not authorized to perform that action` (401/403 without WWW-Authenticate);
 * - `not_found`, `bad_request`, `throttled` (403 Rate Limit Exceeded / 429 past the retry budget),
 *   `server` (5xx past the retry budget), `network`, `timeout`, `malformed` (unparseable body).
 */
export type CanvasErrorKind =
  | 'token_invalid'
  | 'insufficient_scopes'
  | 'unauthorized'
  | 'not_found'
  | 'bad_request'
  | 'throttled'
  | 'server'
  | 'network'
  | 'timeout'
  | 'malformed';

export interface CanvasClient {
  /** One request; retries throttling, 5xx and timeouts per policy. @throws CanvasApiError */
  request<T>(req: CanvasRequest, auth: AccessTokenSource): Promise<CanvasResponse<T>>;
  /** Follows `rel="next"` (ordinal or bookmark) with per_page=100, yielding one page at a time. @throws CanvasApiError */
  pages<T>(req: CanvasRequest, auth: AccessTokenSource): AsyncIterable<T[]>;
  /**
   * GETs a file, returning the raw bytes. The URL must be on the Canvas origin, unless
   * `namedByCanvas` says Canvas itself gave it (a report's `file_url`): then its origin gets the
   * token too, for this download only. Redirects to a file store are followed without the token.
   * @throws CanvasApiError
   */
  download(url: string, auth: AccessTokenSource, opts?: { namedByCanvas?: boolean }): Promise<Uint8Array>;
  /** Counters for benchmarks and job summaries. */
  stats(): { requests: number; throttled: number; retries: number; peakInFlight: number };
}
