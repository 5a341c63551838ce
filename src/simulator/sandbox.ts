import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { authenticate, enforceScopes, permissionDenied, type ApiCaller } from './api-auth.js';
import * as api from './canvas-api.js';
import { createControl, type SandboxControl } from './control.js';
import { demoPageResponse } from './demo-page.js';
import { json, notFound, parseCookies, rubyFloat, text, type SimRequest, type SimResponse } from './http-kit.js';
import type { ThrottleSettings } from './leaky-bucket.js';
import * as grades from './grades.js';
import * as oauth from './oauth-routes.js';
import { parseParams, type ParamHash } from './rails-params.js';
import * as reports from './reports.js';
import { createSandboxState, DEFAULT_SETTINGS, type Fault, type SandboxSettings, type SandboxState } from './sandbox-state.js';
import { cloneWorld, type World } from './world.js';

/**
 * The Canvas sandbox: a real HTTP server that behaves like Canvas (OAuth2, API auth, throttle, pagination, roster
 * endpoints, provisioning reports) plus `/__sandbox/*` control endpoints for tests and demos.
 *
 * EXTENSION POINT (LTI platform side, src/simulator/lti-platform.ts): export a
 * {@link SandboxPlugin} and pass it in `plugins`. It gets the express app (mount routers for OIDC
 * auth, JWKS, NRPS: they run for every path the sandbox does not own, `/api/lti/...` included),
 * the live state (world, tokens, clock) and `setClientCredentialsGrant` to answer
 * `grant_type=client_credentials` at `POST /login/oauth2/token`. `World.lti` is yours to shape.
 */

export interface SandboxOptions {
  world: World;
  latencyMs?: number;
  throttle?: Partial<ThrottleSettings>;
  /** Fixed cost per request in seconds (default: deterministic 0.05–0.2 s from the answer's size). */
  requestCost?: number;
  /** Throttled status: `429` (hosted Canvas, default) or `403` (open-source Canvas). */
  rateLimitMode?: '403' | '429';
  /** Refresh with an unknown token: `invalid_grant` (hosted, default) or `invalid_request` (open source). */
  refreshNotFoundError?: 'invalid_grant' | 'invalid_request';
  /** `redirect`: an old self-hosted Canvas answering token-endpoint errors with a 302 to `redirect_uri`. */
  tokenEndpointErrors?: 'json' | 'redirect';
  clock?: () => Date;
  permissionDeniedStatus?: 401 | 403;
  tokenTtlSeconds?: number;
  tokenErrorStyle?: 'modern' | 'classic';
  reportDelayMs?: number;
  requireUserAgent?: boolean;
  /** Progress GETs a bulk grade job needs to finish (default 2; 0 = at the first GET). */
  progressPolls?: number;
  /** Host name report file URLs use instead of the request's (see `SandboxSettings.reportFileHost`). */
  reportFileHost?: string | null;
  /** Time after which a queued bulk grade job runs without being polled (default 2000 ms). */
  progressRunMs?: number;
  plugins?: SandboxPlugin[];
}

export interface SandboxPluginApi {
  app: Express;
  state: SandboxState;
  setClientCredentialsGrant(handler: oauth.ClientCredentialsGrant): void;
}

export type SandboxPlugin = (api: SandboxPluginApi) => void;

export interface CanvasSandbox {
  /** Base URL once started (`http://127.0.0.1:<port>`), '' before. */
  readonly url: string;
  start(port?: number, host?: string): Promise<string>;
  stop(): Promise<void>;
  /** The live world (mutations take effect immediately). */
  world: World;
  control: SandboxControl;
  state: SandboxState;
  app: Express;
}

type Kind = 'oauth' | 'api' | 'file';

interface Route {
  method: string;
  template: string;
  kind: Kind;
  regex: RegExp;
  handle: (req: SimRequest, state: SandboxState, caller?: ApiCaller) => SimResponse;
}

function route(method: string, template: string, kind: Kind, handle: Route['handle']): Route {
  const src = template.replace(/[.]/g, '\\.').replace(/:(\w+)/g, '(?<$1>[^/]+?)');
  const regex = new RegExp(`^${src}${kind === 'api' ? '(?:\\.json)?' : ''}$`);
  return { method, template, kind, regex, handle };
}

const apiRoute = (method: string, template: string, h: api.ApiHandler): Route =>
  route(method, template, 'api', (req, state, caller) => h({ req, state, caller: caller! }));

const ROUTES: Route[] = [
  route('GET', '/login/oauth2/auth', 'oauth', oauth.authorize),
  route('GET', '/login/canvas', 'oauth', (req) => oauth.loginForm(req)),
  route('POST', '/login/canvas', 'oauth', oauth.loginSubmit),
  route('GET', '/login/oauth2/confirm', 'oauth', oauth.confirm),
  route('POST', '/login/oauth2/accept', 'oauth', oauth.accept),
  route('GET', '/login/oauth2/deny', 'oauth', oauth.deny),
  route('DELETE', '/login/oauth2/token', 'oauth', oauth.revoke),
  apiRoute('GET', '/api/v1/users/:id', api.showUser),
  apiRoute('GET', '/api/v1/accounts', api.listAccounts),
  apiRoute('GET', '/api/v1/accounts/:account_id', api.showAccount),
  apiRoute('GET', '/api/v1/accounts/:account_id/courses', api.accountCourses),
  apiRoute('GET', '/api/v1/accounts/:account_id/roles', api.accountRoles),
  apiRoute('GET', '/api/v1/accounts/:account_id/permissions', api.accountPermissionsCheck),
  apiRoute('GET', '/api/v1/users/:user_id/enrollments', api.userEnrollments),
  apiRoute('GET', '/api/v1/accounts/:account_id/reports', reports.listReportTypes),
  apiRoute('POST', '/api/v1/accounts/:account_id/reports/:report', reports.startReport),
  apiRoute('GET', '/api/v1/accounts/:account_id/reports/:report', reports.listReports),
  apiRoute('GET', '/api/v1/accounts/:account_id/reports/:report/:id', reports.reportStatus),
  apiRoute('PUT', '/api/v1/accounts/:account_id/reports/:report/:id/abort', reports.abortReport),
  apiRoute('DELETE', '/api/v1/accounts/:account_id/reports/:report/:id', reports.deleteReport),
  apiRoute('GET', '/api/v1/courses', api.listCourses),
  apiRoute('GET', '/api/v1/courses/:id', api.showCourse),
  apiRoute('GET', '/api/v1/courses/:course_id/sections', api.courseSections),
  apiRoute('GET', '/api/v1/courses/:course_id/enrollments', api.courseEnrollments),
  apiRoute('GET', '/api/v1/sections/:section_id/enrollments', api.sectionEnrollments),
  apiRoute('GET', '/api/v1/courses/:course_id/users', api.courseUsers),
  apiRoute('POST', '/api/v1/courses/:course_id/assignments', grades.createAssignment),
  apiRoute('GET', '/api/v1/courses/:course_id/assignments', grades.listAssignments),
  apiRoute('GET', '/api/v1/courses/:course_id/assignments/:id', grades.showAssignment),
  apiRoute('POST', '/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades', grades.updateGrades),
  apiRoute('POST', '/api/v1/courses/:course_id/submissions/update_grades', grades.updateGradesMulti),
  apiRoute('GET', '/api/v1/courses/:course_id/assignments/:assignment_id/submissions', grades.assignmentSubmissions),
  apiRoute('GET', '/api/v1/courses/:course_id/students/submissions', grades.studentSubmissions),
  apiRoute('GET', '/api/v1/progress/:id', grades.showProgress),
  route('GET', '/files/:id/download', 'file', (req, state, caller) => reports.download({ req, state, caller: caller! })),
  route('GET', '/accounts/:account_id/files/:id/download', 'file', (req, state, caller) => reports.download({ req, state, caller: caller! })),
];

const SERVER_ERROR = { errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }] };

function faultResponse(kind: Fault['kind'], state: SandboxState): SimResponse {
  switch (kind) {
    case 'unauthorized':
      return permissionDenied(state);
    case '500':
      return json(500, SERVER_ERROR);
    case '502':
      return { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html><body><h1>502 Bad Gateway</h1></body></html>\n' };
    case '503':
      return { status: 503, headers: { 'Content-Type': 'text/html' }, body: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n' };
    case 'malformed':
      return { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '[{"id":1,"name":"trunc' };
    case 'timeout':
      return { kind: 'hang' };
    case 'reset':
      return { kind: 'reset' };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** JSON bodies become Rails-like params (scalars as strings). */
function jsonToParams(value: unknown): ParamHash {
  const out: ParamHash = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (Array.isArray(v)) out[k] = v.map((x) => String(x));
    else if (typeof v === 'object' && v !== null) out[k] = jsonToParams(v);
    else if (v !== null && v !== undefined) out[k] = String(v);
  }
  return out;
}

async function parseBody(req: IncomingMessage): Promise<ParamHash> {
  if (req.method === 'GET' || req.method === 'HEAD') return {};
  const raw = (await readBody(req)).toString('utf8');
  if (!raw) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return jsonToParams(JSON.parse(raw));
    } catch {
      return {};
    }
  }
  return parseParams(raw);
}

function mergeParams(query: ParamHash, body: ParamHash): ParamHash {
  const out: ParamHash = structuredClone(query);
  for (const [k, v] of Object.entries(body)) out[k] = v;
  return out;
}

/** Deterministic per-answer cost in seconds (0.05–0.2), standing in for Canvas's CPU + DB time. */
function defaultCost(res: SimResponse): number {
  const size = 'body' in res ? res.body.length : 0;
  return Math.round(Math.min(0.2, 0.05 + size / 200_000) * 10_000) / 10_000;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Creates a sandbox; nothing listens until `start()`. The world is copied, never mutated in place. */
export function createCanvasSandbox(opts: SandboxOptions): CanvasSandbox {
  const world = cloneWorld(opts.world);
  const settings: SandboxSettings = {
    ...DEFAULT_SETTINGS,
    throttle: { ...DEFAULT_SETTINGS.throttle, ...opts.throttle },
    latencyMs: opts.latencyMs ?? DEFAULT_SETTINGS.latencyMs,
    requestCost: opts.requestCost,
    rateLimitMode: opts.rateLimitMode ?? DEFAULT_SETTINGS.rateLimitMode,
    refreshNotFoundError: opts.refreshNotFoundError ?? DEFAULT_SETTINGS.refreshNotFoundError,
    tokenEndpointErrors: opts.tokenEndpointErrors ?? DEFAULT_SETTINGS.tokenEndpointErrors,
    permissionDeniedStatus: opts.permissionDeniedStatus ?? DEFAULT_SETTINGS.permissionDeniedStatus,
    tokenTtlSeconds: opts.tokenTtlSeconds ?? DEFAULT_SETTINGS.tokenTtlSeconds,
    tokenErrorStyle: opts.tokenErrorStyle ?? DEFAULT_SETTINGS.tokenErrorStyle,
    reportDelayMs: opts.reportDelayMs ?? DEFAULT_SETTINGS.reportDelayMs,
    requireUserAgent: opts.requireUserAgent ?? DEFAULT_SETTINGS.requireUserAgent,
    progressPolls: opts.progressPolls ?? DEFAULT_SETTINGS.progressPolls,
    reportFileHost: opts.reportFileHost ?? DEFAULT_SETTINGS.reportFileHost,
    progressRunMs: opts.progressRunMs ?? DEFAULT_SETTINGS.progressRunMs,
  };
  const state = createSandboxState(world, settings, opts.clock ?? (() => new Date()));
  const control = createControl(state);
  let clientCredentials: oauth.ClientCredentialsGrant | undefined;
  const tokenRoute = route('POST', '/login/oauth2/token', 'oauth', (req, st) => oauth.token(req, st, clientCredentials));
  const routes = [tokenRoute, ...ROUTES];

  function takeFault(method: string, path: string): Fault | undefined {
    const f = state.faults.find((x) => x.remaining > 0 && (!x.method || x.method === method) && new RegExp(x.path).test(path));
    if (!f) return undefined;
    f.remaining--;
    state.counters.faultsInjected++;
    state.faults = state.faults.filter((x) => x.remaining > 0);
    return f;
  }

  async function apiPipeline(r: Route, sreq: SimRequest): Promise<SimResponse> {
    if (settings.requireUserAgent && !sreq.headers['user-agent']) {
      // Hosted Canvas answers 403 without a User-Agent (since 2026), with the body Instructure published for the rule (§15.13).
      return json(403, { error: 'Forbidden', message: 'You are not authorized to access this site because you have not provided a valid user agent.' });
    }
    const presented = oauth.bearerToken(sreq);
    const bucket = settings.throttle.enabled && presented ? `token:${createHash('sha256').update(presented).digest('hex')}` : undefined;
    if (bucket && !state.buckets.reserve(bucket, state.now())) {
      state.counters.throttled++;
      // Canvas hands the up-front cost back and then overwrites the `0.0` of the rejection with the
      // bucket's real remainder for token clients; no cost header and no Retry-After on this answer.
      const remaining = state.buckets.settle(bucket, 0, state.now());
      const status = settings.rateLimitMode === '429' ? 429 : 403;
      // 429 wording follows the current developer docs page ("429 Forbidden (Rate Limit Exceeded)").
      return text(status, `${status} Forbidden (Rate Limit Exceeded)\n`, { 'X-Rate-Limit-Remaining': rubyFloat(remaining) });
    }
    let res: SimResponse;
    try {
      if (settings.latencyMs > 0) await sleep(settings.latencyMs);
      const caller = authenticate(sreq, state);
      if (!('token' in caller)) res = caller;
      else res = (r.kind === 'api' ? enforceScopes(sreq, caller) : undefined) ?? r.handle(sreq, state, caller);
    } catch {
      res = json(500, SERVER_ERROR);
    }
    if (bucket && 'body' in res) {
      const cost = settings.requestCost ?? defaultCost(res);
      const remaining = state.buckets.settle(bucket, cost, state.now());
      res.headers['X-Request-Cost'] = rubyFloat(cost);
      res.headers['X-Rate-Limit-Remaining'] = rubyFloat(remaining);
    }
    return res;
  }

  async function dispatch(req: Request, res: Response, next: NextFunction): Promise<void> {
    const url = new URL(req.originalUrl, 'http://sandbox.invalid');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    let path: string;
    try {
      path = decodeURI(url.pathname);
    } catch {
      path = url.pathname;
    }
    const page = url.pathname.startsWith('/__sandbox') ? demoPageResponse(method, url.pathname, url.searchParams, state) : undefined;
    if (page) return send(res, page);
    if (url.pathname.startsWith('/__sandbox/')) return control.handleHttp(req, res, url.pathname.slice('/__sandbox/'.length));
    let r: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const candidate of routes) {
      if (candidate.method !== method) continue;
      match = candidate.regex.exec(url.pathname);
      if (match) {
        r = candidate;
        break;
      }
    }
    if (!r || !match) return next();
    const counters = state.counters;
    const name = `${r.method} ${r.template}`;
    counters.requests[name] = (counters.requests[name] ?? 0) + 1;
    counters.inFlight++;
    counters.peakConcurrency = Math.max(counters.peakConcurrency, counters.inFlight);
    // Read state.counters at close time: resetCounters() may have replaced the object meanwhile.
    res.on('close', () => state.counters.inFlight--);

    const fault = takeFault(method, path);
    const query = parseParams(url.search);
    const body = await parseBody(req);
    const pathParams: Record<string, string> = {};
    for (const [k, v] of Object.entries(match.groups ?? {})) {
      try {
        pathParams[k] = decodeURIComponent(v);
      } catch {
        pathParams[k] = v;
      }
    }
    const sreq: SimRequest = {
      method,
      path,
      search: url.search.replace(/^\?/, ''),
      query,
      body,
      params: mergeParams(query, body),
      headers: req.headers,
      cookies: parseCookies(req.headers.cookie),
      origin: `http://${req.headers.host ?? 'localhost'}`,
      pathParams,
      raw: req,
    };
    grades.runDueJobs(state);
    let out: SimResponse;
    if (fault?.afterApplying) {
      await apiPipeline(r, sreq);
      out = faultResponse(fault.kind, state);
    } else if (fault) out = faultResponse(fault.kind, state);
    else if (r.kind === 'oauth') {
      if (settings.latencyMs > 0) await sleep(settings.latencyMs);
      try {
        out = r.handle(sreq, state);
      } catch {
        out = json(500, SERVER_ERROR);
      }
    } else out = await apiPipeline(r, sreq);
    send(res, out);
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    dispatch(req, res, next).catch(next);
  });
  // Plugin routes answer through express (res.json, res.set): their header names go out in lower
  // case too, as every hosted Canvas answer does (§15.13), with the headers node adds itself.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    const writeHead = res.writeHead;
    res.writeHead = function lowerCaseWriteHead(this: Response, ...args: unknown[]) {
      for (const name of this.getHeaderNames()) {
        const value = this.getHeader(name)!;
        this.removeHeader(name);
        this.setHeader(name, value);
      }
      this.sendDate = false;
      if (!this.hasHeader('date')) this.setHeader('date', new Date().toUTCString());
      if (!this.hasHeader('transfer-encoding')) {
        this.setHeader('connection', this.shouldKeepAlive ? 'keep-alive' : 'close');
        if (this.shouldKeepAlive) this.setHeader('keep-alive', 'timeout=5');
      }
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as typeof res.writeHead;
    next();
  });
  for (const plugin of opts.plugins ?? []) {
    plugin({ app, state, setClientCredentialsGrant: (h) => (clientCredentials = h) });
  }
  app.use((req: Request, res: Response) => send(res, req.path.startsWith('/api/') ? notFound() : text(404, 'Not Found')));
  // Quiet by design: no stack traces on stderr from express's default handler.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) send(res, json(500, SERVER_ERROR));
  });

  let server: Server | undefined;
  let url = '';
  const sockets = new Set<Socket>();

  const sandbox: CanvasSandbox = {
    get url() {
      return url;
    },
    world,
    control,
    state,
    app,
    async start(port = 0, host = '127.0.0.1') {
      server = createServer(app);
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const addr = server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      url = `http://${host}:${actualPort}`;
      return url;
    },
    async stop() {
      if (!server) return;
      const s = server;
      server = undefined;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const sock of sockets) sock.destroy();
      await closed;
    },
  };
  return sandbox;
}

function send(res: ServerResponse, out: SimResponse): void {
  if (out.kind === 'hang') return;
  if (out.kind === 'reset') {
    res.socket?.destroy();
    return;
  }
  // Hosted Canvas sends every response header name in lower case, so the headers node would add on
  // its own (Date, Connection, Keep-Alive, Transfer-Encoding) are written here in lower case too.
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.headers)) headers[k.toLowerCase()] = v;
  res.sendDate = false;
  headers['date'] ??= new Date().toUTCString();
  headers['content-length'] = String(Buffer.byteLength(out.body));
  headers['connection'] = res.shouldKeepAlive ? 'keep-alive' : 'close';
  if (res.shouldKeepAlive) headers['keep-alive'] = 'timeout=5';
  res.writeHead(out.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : out.body);
}

