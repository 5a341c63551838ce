import { buildDemoWorld, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../src/simulator/demo-world.js';
import { createCanvasSandbox, type CanvasSandbox, type SandboxOptions } from '../../src/simulator/sandbox.js';

export const CALLBACK = 'http://localhost:3000/oauth/callback';
export const UA = 'canvas-companion-tests/1.0';
export { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET };

/** A started sandbox on a small demo world (20 courses). */
export async function startSandbox(over: Partial<SandboxOptions> = {}): Promise<CanvasSandbox> {
  const sb = createCanvasSandbox({ world: buildDemoWorld({ courses: 20, seed: 7 }), ...over });
  await sb.start();
  return sb;
}

export function authUrl(sb: CanvasSandbox, params: Record<string, string>): string {
  return `${sb.url}/login/oauth2/auth?${new URLSearchParams(params).toString()}`;
}

export const standardAuth = (extra: Record<string, string> = {}): Record<string, string> => ({
  client_id: DEMO_CLIENT_ID,
  response_type: 'code',
  redirect_uri: CALLBACK,
  state: 'st-1',
  ...extra,
});

export interface Browser {
  cookie: string;
  get(path: string): Promise<Response>;
  post(path: string, form: Record<string, string>): Promise<Response>;
}

/** A cookie-keeping client that does not follow redirects. */
export function browser(sb: CanvasSandbox): Browser {
  const b: Browser = {
    cookie: '',
    async get(path) {
      const r = await fetch(path.startsWith('http') ? path : sb.url + path, { redirect: 'manual', headers: b.cookie ? { cookie: b.cookie } : {} });
      const set = r.headers.get('set-cookie');
      if (set) b.cookie = set.split(';')[0]!;
      return r;
    },
    async post(path, form) {
      const r = await fetch(sb.url + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(b.cookie ? { cookie: b.cookie } : {}) },
        body: new URLSearchParams(form).toString(),
      });
      const set = r.headers.get('set-cookie');
      if (set) b.cookie = set.split(';')[0]!;
      return r;
    },
  };
  return b;
}

export async function login(b: Browser, username = 'admin', password = 'password'): Promise<Response> {
  return b.post('/login/canvas', { 'pseudonym_session[unique_id]': username, 'pseudonym_session[password]': password });
}

/** Consent page → its CSRF token. */
export async function consentToken(b: Browser): Promise<string> {
  const page = await (await b.get('/login/oauth2/confirm')).text();
  const m = /name="custom_csrf_token" value="([^"]+)"/.exec(page);
  if (!m) throw new Error('no consent form');
  return m[1]!;
}

/** Runs the browser flow (auth → login → consent → accept) and returns the redirect Location. */
export async function authorizeFlow(sb: CanvasSandbox, opts: { user?: string; extra?: Record<string, string> } = {}): Promise<URL> {
  const b = browser(sb);
  await b.get(authUrl(sb, standardAuth(opts.extra)));
  await login(b, opts.user ?? 'admin');
  const csrf = await consentToken(b);
  const r = await b.post('/login/oauth2/accept', { custom_csrf_token: csrf });
  return new URL(r.headers.get('location')!);
}

export async function tokenRequest(sb: CanvasSandbox, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sb.url}/login/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** Full flow to a token pair for `user`. */
export async function getTokens(sb: CanvasSandbox, user = 'admin', extra: Record<string, string> = {}): Promise<Tokens> {
  const loc = await authorizeFlow(sb, { user, extra });
  const r = await tokenRequest(sb, {
    grant_type: 'authorization_code',
    client_id: DEMO_CLIENT_ID,
    client_secret: DEMO_CLIENT_SECRET,
    code: loc.searchParams.get('code')!,
    redirect_uri: CALLBACK,
  });
  if (r.status !== 200) throw new Error(`token exchange failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as Tokens;
}

export function apiGet(sb: CanvasSandbox, path: string, token?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(sb.url + path, { headers: { 'user-agent': UA, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

/** Parses a Link header into rel → URL, keeping order. */
export function parseLinks(header: string | null): Array<[string, string]> {
  if (!header) return [];
  return header.split(',').map((part) => {
    const m = /^<([^>]+)>; rel="([^"]+)"$/.exec(part);
    if (!m) throw new Error(`bad link part ${part}`);
    return [m[2]!, m[1]!];
  });
}
