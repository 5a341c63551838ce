import { createHash, randomBytes } from 'node:crypto';
import { escapeHtml, html, json, redirect, text, type SimRequest, type SimResponse } from './http-kit.js';
import { str, toQuery, toSentence, type ParamValue } from './rails-params.js';
import { globalId, type BrowserSession, type SandboxState, type TokenRecord } from './sandbox-state.js';
import type { DeveloperKey, User } from './world.js';

/**
 * The browser and token side of Canvas OAuth2: `/login/oauth2/auth` with its
 * exact validation order, the login form, consent, accept/deny, the token endpoint's error table,
 * refresh and revocation.
 */

export const SESSION_COOKIE = '_sandbox_session';
const OOB = 'urn:ietf:wg:oauth:2.0:oob';
const CODE_TTL_MS = 10 * 60 * 1000;
const INVALID_SCOPE =
  'A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: ';

/** Returns the browser session, creating one (and its Set-Cookie header) when absent. */
function session(req: SimRequest, state: SandboxState): { s: BrowserSession; cookie: Record<string, string> } {
  const existing = state.sessions.get(req.cookies[SESSION_COOKIE] ?? '');
  if (existing) return { s: existing, cookie: {} };
  const s: BrowserSession = { id: randomBytes(24).toString('hex'), csrf: randomBytes(24).toString('base64url') };
  state.sessions.set(s.id, s);
  return { s, cookie: { 'Set-Cookie': `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Lax` } };
}

/** `Provider.final_redirect`: `?` or `&`, then Rails `to_query` of the non-nil values. */
export function finalRedirect(redirectUri: string, opts: Record<string, ParamValue | undefined>): string {
  const q = toQuery(opts);
  return redirectUri + (redirectUri.includes('?') ? '&' : '?') + q;
}

/** Canvas's `redirect_domain_matches?`: an exact `redirectUris` entry, the OOB URN, or the legacy `redirectUri` rule. */
export function redirectAllowed(key: DeveloperKey, uri: string | undefined): boolean {
  if (!uri) return false;
  if (uri === OOB) return true;
  if (key.redirectUris.includes(uri)) return true;
  if (!key.redirectUri) return false;
  try {
    const want = new URL(key.redirectUri);
    const got = new URL(uri);
    return want.protocol === got.protocol && (got.hostname === want.hostname || got.hostname.endsWith(`.${want.hostname}`));
  } catch {
    return false;
  }
}

function issueCode(state: SandboxState, userId: string, o: { clientId: string; scopes: string[]; purpose?: string; codeChallenge?: string }): string {
  const code = randomBytes(64).toString('hex');
  state.codes.set(code, { userId, clientId: o.clientId, scopes: o.scopes, purpose: o.purpose, codeChallenge: o.codeChallenge, createdAt: state.now() });
  return code;
}

/** Where the browser goes once the pending request can be finished: consent, or straight back with a code. */
function afterLogin(state: SandboxState, s: BrowserSession, key: DeveloperKey): string {
  const oauth = s.oauth!;
  if (key.trusted) {
    const code = issueCode(state, s.userId!, { ...oauth, clientId: key.id });
    s.oauth = undefined;
    return codeRedirect(oauth.redirectUri, code, oauth.state);
  }
  return '/login/oauth2/confirm';
}

function codeRedirect(redirectUri: string, code: string, st: string | undefined): string {
  if (redirectUri === OOB) return `/login/oauth2/auth?${toQuery({ code })}`;
  return finalRedirect(redirectUri, { code, state: st });
}

/** GET /login/oauth2/auth — Canvas's checks in Canvas's order, stops at the first failure. */
export function authorize(req: SimRequest, state: SandboxState): SimResponse {
  const p = req.params;
  if (!str(p, 'client_id') && (str(p, 'code') || str(p, 'error'))) {
    // OOB landing page on the Canvas host.
    return html(200, `<!doctype html><html><body><p>Your code: <code id="code">${escapeHtml(str(p, 'code') ?? str(p, 'error') ?? '')}</code></p></body></html>`);
  }
  const key = state.findKey(str(p, 'client_id'));
  if (!key || key.workflowState !== 'active') {
    return json(401, { error: 'invalid_client', error_description: 'unknown client' }, { 'WWW-Authenticate': 'Canvas OAuth 2.0' });
  }
  const redirectUri = str(p, 'redirect_uri');
  if (!redirectAllowed(key, redirectUri)) {
    return json(400, { error: 'invalid_request', error_description: 'redirect_uri does not match client settings' });
  }
  const { s, cookie } = session(req, state);
  const st = str(p, 'state');
  const scopes = (str(p, 'scope') ?? str(p, 'scopes') ?? '').split(/\s+/).filter(Boolean);
  const challenge = str(p, 'code_challenge');
  s.oauth = {
    clientId: key.id,
    redirectUri: redirectUri!,
    scopes: key.requireScopes ? scopes : [],
    purpose: str(p, 'purpose'),
    state: st,
    nonce: str(p, 'nonce'),
    codeChallenge: challenge && str(p, 'code_challenge_method') === 'S256' ? challenge : undefined,
  };
  const back = (error: string, description?: string): SimResponse =>
    redirect(finalRedirect(redirectUri!, { error, error_description: description, state: st }), cookie);

  if (key.requireScopes) {
    const missing = scopes.filter((sc) => !key.scopes.includes(sc));
    if (scopes.length === 0 || missing.length > 0) return back('invalid_scope', INVALID_SCOPE + toSentence(missing));
  }
  if (key.binding !== 'on') return back('unauthorized_client', 'Client does not have access to the specified Canvas account.');
  if (str(p, 'response_type') !== 'code') return back('unsupported_response_type', 'Only response_type=code is permitted');

  const prompt = str(p, 'prompt');
  let forceLogin = Boolean(str(p, 'force_login'));
  const loggedIn = s.userId !== undefined && !state.user(s.userId)?.suspended;
  if (prompt === 'none') {
    if (!loggedIn) return back('login_required', 'prompt=none but there is no current session');
    if (!key.trusted) return back('interaction_required', 'prompt=none but a token cannot be granted without user interaction');
    return redirect(afterLogin(state, s, key), cookie);
  } else if (prompt === 'login') {
    forceLogin = true;
  } else if (prompt !== undefined) {
    return back('unsupported_prompt_type', 'prompt must be "none" (or omitted)');
  }
  if (loggedIn && !forceLogin) return redirect(afterLogin(state, s, key), cookie);
  if (forceLogin) s.userId = undefined;
  const uniqueId = str(p, 'unique_id');
  return redirect('/login/canvas' + (uniqueId ? `?${toQuery({ pseudonym_session: { unique_id: uniqueId } })}` : ''), cookie);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main>${body}</main></body></html>
`;
}

function loginPage(username: string, error?: string): string {
  return page(
    'Log In to Canvas',
    `<h1>Canvas sandbox</h1>
${error ? `<p id="login-error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login_form" method="post" action="/login/canvas">
  <label for="username">Username</label>
  <input id="username" name="pseudonym_session[unique_id]" value="${escapeHtml(username)}" autocomplete="username">
  <label for="password">Password</label>
  <input id="password" name="pseudonym_session[password]" type="password" autocomplete="current-password">
  <button id="login-submit" type="submit">Log In</button>
</form>`,
  );
}

/** GET /login/canvas — the login form. */
export function loginForm(req: SimRequest): SimResponse {
  const ps = req.params['pseudonym_session'];
  const username = typeof ps === 'object' && !Array.isArray(ps) ? (str(ps, 'unique_id') ?? '') : '';
  return html(200, loginPage(username));
}

/** POST /login/canvas — checks the credentials; continues a pending OAuth request if there is one. */
export function loginSubmit(req: SimRequest, state: SandboxState): SimResponse {
  const ps = req.params['pseudonym_session'];
  const form = typeof ps === 'object' && !Array.isArray(ps) ? ps : {};
  const username = str(form, 'unique_id') ?? '';
  const password = str(form, 'password') ?? '';
  const user = state.world.users.find((u) => u.loginId.toLowerCase() === username.toLowerCase());
  if (!user || user.password !== password || user.suspended) {
    return html(400, loginPage(username, 'Please verify your username or password and try again.'));
  }
  const { s, cookie } = session(req, state);
  s.userId = user.id;
  const key = s.oauth ? state.findKey(s.oauth.clientId) : undefined;
  if (s.oauth && key) return redirect(afterLogin(state, s, key), cookie);
  return html(200, page('Dashboard', `<h1>Logged in as ${escapeHtml(user.name)}</h1>`), cookie);
}

/** GET /login/oauth2/confirm — consent page, or `client_not_allowed_for_user`. */
export function confirm(req: SimRequest, state: SandboxState): SimResponse {
  const s = state.sessions.get(req.cookies[SESSION_COOKIE] ?? '');
  const key = s?.oauth ? state.findKey(s.oauth.clientId) : undefined;
  if (!s?.oauth || !key) return redirect('/login/canvas');
  const user = s.userId ? state.user(s.userId) : undefined;
  if (!user) return redirect('/login/canvas');
  if (!canIssueToken(user) && !key.trusted) {
    const uri = s.oauth.redirectUri;
    s.oauth = undefined;
    return redirect(
      finalRedirect(uri, {
        error: 'client_not_allowed_for_user',
        error_description: 'The current user is logged in but does not have permission to authorize this application.',
        state: str(req.params, 'state'),
      }),
    );
  }
  const name = key.name ?? `Developer key ${key.id}`;
  const scopes = s.oauth.scopes.length ? `<ul id="scopes">${s.oauth.scopes.map((sc) => `<li>${escapeHtml(sc)}</li>`).join('')}</ul>` : '';
  return html(
    200,
    page(
      'Authorize',
      `<h1 id="consent-title">${escapeHtml(name)} is requesting access to your account.</h1>
<p>You are logged in as <span id="current-user">${escapeHtml(user.name)}</span>.</p>
${scopes}
<form id="consent_form" method="post" action="/login/oauth2/accept">
  <input type="hidden" name="custom_csrf_token" value="${escapeHtml(s.csrf)}">
  <button id="authorize" type="submit">Authorize</button>
  <a id="cancel" href="/login/oauth2/deny">Cancel</a>
</form>`,
    ),
  );
}

/** The AccessToken `:create` policy (root-account "limit personal access tokens" settings). */
function canIssueToken(user: User): boolean {
  return user.canIssueToken ?? user.admin?.permissions.can_issue_token ?? true;
}

/** POST /login/oauth2/accept */
export function accept(req: SimRequest, state: SandboxState): SimResponse {
  const s = state.sessions.get(req.cookies[SESSION_COOKIE] ?? '');
  if (!s?.oauth || !s.userId) return text(400, 'Invalid or missing session for oauth');
  const csrf = str(req.params, 'custom_csrf_token');
  if (!csrf) return text(400, 'Missing custom CSRF token');
  if (csrf !== s.csrf) return text(400, 'Invalid custom CSRF token');
  const oauth = s.oauth;
  s.oauth = undefined;
  const code = issueCode(state, s.userId, oauth);
  return redirect(codeRedirect(oauth.redirectUri, code, oauth.state));
}

/** GET /login/oauth2/deny */
export function deny(req: SimRequest, state: SandboxState): SimResponse {
  const s = state.sessions.get(req.cookies[SESSION_COOKIE] ?? '');
  if (!s?.oauth) return text(400, 'Invalid or missing session for oauth');
  const oauth = s.oauth;
  s.oauth = undefined;
  return redirect(finalRedirect(oauth.redirectUri, { error: 'access_denied', state: oauth.state }));
}

function tokenError(status: number, error: string, description: string): SimResponse {
  return json(status, { error, error_description: description }, status === 401 ? { 'WWW-Authenticate': 'Canvas OAuth 2.0' } : {});
}

/** Optional handler for `grant_type=client_credentials` (the LTI platform side may register one). */
export type ClientCredentialsGrant = (req: SimRequest, state: SandboxState) => SimResponse;

/**
 * POST /login/oauth2/token. In `tokenEndpointErrors: 'redirect'` mode (an old self-hosted Canvas),
 * an error becomes a 302 to the request's `redirect_uri` with `error` and `error_description`
 * appended after its own query; without a `redirect_uri`, or with the OOB one, it stays JSON.
 */
export function token(req: SimRequest, state: SandboxState, clientCredentials?: ClientCredentialsGrant): SimResponse {
  const res = tokenGrant(req, state, clientCredentials);
  const redirectUri = str(req.params, 'redirect_uri');
  if (state.settings.tokenEndpointErrors !== 'redirect' || !redirectUri || redirectUri === OOB) return res;
  if (!('body' in res) || res.status < 400 || str(req.params, 'grant_type') === 'client_credentials') return res;
  let parsed: { error?: string; error_description?: string };
  try {
    parsed = JSON.parse(res.body.toString()) as typeof parsed;
  } catch {
    return res;
  }
  if (!parsed.error) return res;
  // URI.encode_www_form: spaces become '+', the existing query is kept in front.
  const q = new URLSearchParams({ error: parsed.error, error_description: parsed.error_description ?? '' }).toString();
  return redirect(redirectUri + (redirectUri.includes('?') ? '&' : '?') + q);
}

function tokenGrant(req: SimRequest, state: SandboxState, clientCredentials?: ClientCredentialsGrant): SimResponse {
  const p = req.params;
  let grant = str(p, 'grant_type');
  if (!grant && str(p, 'code')) grant = 'authorization_code';
  if (grant === 'client_credentials') {
    if (clientCredentials) return clientCredentials(req, state);
    return tokenError(400, 'invalid_request', 'assertion method not supported for this grant_type');
  }
  if (grant !== 'authorization_code' && grant !== 'refresh_token') {
    return tokenError(400, 'unsupported_grant_type', 'The grant_type you requested is not currently supported');
  }

  let clientId = str(p, 'client_id');
  let secret = str(p, 'client_secret');
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    clientId ??= i >= 0 ? decoded.slice(0, i) : decoded;
    secret ??= i >= 0 ? decoded.slice(i + 1) : undefined;
  }
  const key = state.findKey(clientId);
  if (!key || key.workflowState !== 'active') return tokenError(401, 'invalid_client', 'unknown client');
  const verifier = str(p, 'code_verifier');
  // Public clients may omit the secret on PKCE exchanges and on refresh (UNVERIFIED for refresh).
  const secretOptional = key.publicClient && (grant === 'refresh_token' || verifier !== undefined);
  if (secret !== key.secret && !(secretOptional && secret === undefined)) return tokenError(401, 'invalid_client', 'invalid client');

  if (grant === 'authorization_code') {
    const code = str(p, 'code');
    if (!code) return tokenError(400, 'invalid_request', 'You must provide the code parameter when using the authorization_code grant type');
    const rec = state.codes.get(code);
    if (!rec || state.now() - rec.createdAt > CODE_TTL_MS) return tokenError(400, 'invalid_grant', 'authorization_code not found');
    if (state.findKey(rec.clientId)?.id !== key.id) return tokenError(400, 'invalid_grant', 'incorrect client');
    if (verifier !== undefined) {
      // Canvas deletes the stored challenge when it reads it, so a failed attempt cannot be retried.
      const challenge = rec.codeChallenge;
      rec.codeChallenge = undefined;
      const computed = createHash('sha256').update(verifier).digest('base64url');
      // Canvas's error_description here is not known; this text is the sandbox's choice.
      if (!challenge || computed !== challenge) return tokenError(400, 'invalid_grant', 'The code verifier does not match the code challenge');
    }
    const user = state.user(rec.userId);
    if (!user) return tokenError(400, 'invalid_grant', 'authorization_code not found');
    state.codes.delete(code);
    if (str(p, 'replace_tokens')) {
      for (const t of state.tokens) if (t.userId === user.id && t.keyId === key.id && t.state === 'active') state.deleteToken(t);
    }
    const t = state.issueToken(user, key, rec.scopes, rec.purpose);
    state.counters.tokenGrants.authorization_code++;
    return json(200, tokenJson(state, t, user, true));
  }

  const refresh = str(p, 'refresh_token');
  if (!refresh) return tokenError(400, 'invalid_request', 'You must provide the refresh_token parameter when using the refresh_token grant type');
  const t = state.byRefresh.get(refresh);
  const user = t ? state.user(t.userId) : undefined;
  if (!t || t.state !== 'active' || !user || (t.permanentExpiresAt !== undefined && t.permanentExpiresAt < state.now())) {
    return tokenError(400, state.settings.refreshNotFoundError, 'refresh_token not found');
  }
  if (t.keyId !== key.id) return tokenError(400, 'invalid_grant', 'incorrect client');
  const rotate = Boolean(key.publicClient);
  state.regenerate(t, rotate);
  state.counters.tokenGrants.refresh_token++;
  return json(200, tokenJson(state, t, user, rotate));
}

function tokenJson(state: SandboxState, t: TokenRecord, user: User, withRefresh: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    access_token: t.accessToken,
    token_type: 'Bearer',
    user: { id: Number(user.id), name: user.name, global_id: globalId(user.id), effective_locale: 'en' },
    canvas_region: state.settings.canvasRegion,
  };
  if (withRefresh) out['refresh_token'] = t.refreshToken;
  out['expires_in'] = Math.round((t.expiresAt - state.now()) / 1000);
  return out;
}

/** Extracts the bearer token the Canvas way: `Bearer` exactly, else `access_token`. */
export function bearerToken(req: SimRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const i = auth.indexOf(' ');
    if (i > 0 && auth.slice(0, i) === 'Bearer') return auth.slice(i + 1);
  }
  return str(req.params, 'access_token');
}

/** DELETE /login/oauth2/token: 200 `{}`, the token soft-deleted. */
export function revoke(req: SimRequest, state: SandboxState): SimResponse {
  const presented = bearerToken(req);
  if (!presented) return json(400, { message: "can't delete OAuth access token when not using an OAuth access token" });
  const t = state.byAccess.get(presented);
  if (!t || t.state !== 'active') {
    // Canvas's answer on this non-/api path is not known: the sandbox answers like the API does.
    return json(401, { errors: [{ message: 'Invalid access token.' }] }, { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' });
  }
  state.deleteToken(t);
  return json(200, {});
}
