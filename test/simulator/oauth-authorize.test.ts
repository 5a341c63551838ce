import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { authorizeFlow, authUrl, browser, CALLBACK, consentToken, DEMO_CLIENT_ID, login, standardAuth, startSandbox } from './sandbox-helpers.js';

const INVALID_SCOPE_PREFIX =
  'A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: ';

describe('Canvas sandbox: GET /login/oauth2/auth', () => {
  let sb: CanvasSandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.stop());
  beforeEach(() => {
    sb.control.setKey({ binding: 'on', workflowState: 'active', requireScopes: false, trusted: false });
  });

  const get = (params: Record<string, string>) => fetch(authUrl(sb, params), { redirect: 'manual' });

  it('answers an unknown client with JSON 401 invalid_client and the Canvas OAuth challenge', async () => {
    const r = await get(standardAuth({ client_id: '999' }));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Canvas OAuth 2.0');
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await r.json()).toEqual({ error: 'invalid_client', error_description: 'unknown client' });
  });

  it('treats a non-numeric or 64-bit-overflowing client_id as unknown', async () => {
    for (const id of ['abc', '18446744073709551616']) {
      expect((await get(standardAuth({ client_id: id }))).status).toBe(401);
    }
  });

  it('checks the key before the redirect URI (a deactivated key with a bad redirect is still invalid_client)', async () => {
    sb.control.setKey({ workflowState: 'inactive' });
    const r = await get(standardAuth({ redirect_uri: 'https://evil.example/cb' }));
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('answers a redirect mismatch with JSON 400 instead of redirecting', async () => {
    const r = await get(standardAuth({ redirect_uri: 'https://evil.example/cb' }));
    expect(r.status).toBe(400);
    expect(r.headers.get('location')).toBeNull();
    expect(await r.json()).toEqual({ error: 'invalid_request', error_description: 'redirect_uri does not match client settings' });
  });

  it('accepts the legacy redirect_uri by scheme and (sub)domain', async () => {
    sb.control.setKey({ redirectUri: 'https://tool.example.com/anything' });
    const ok = await get(standardAuth({ redirect_uri: 'https://eu.tool.example.com/oauth/callback' }));
    expect(ok.status).toBe(302);
    const wrongScheme = await get(standardAuth({ redirect_uri: 'http://tool.example.com/oauth/callback' }));
    expect(wrongScheme.status).toBe(400);
    sb.control.setKey({ redirectUri: undefined });
  });

  it('redirects invalid_scope with a sorted, +-encoded query listing the missing scopes as a sentence', async () => {
    sb.control.setKey({ requireScopes: true });
    const r = await get(standardAuth({ scope: 'url:GET|/api/v1/courses/:id url:GET|/api/v1/nope url:GET|/api/v1/other' }));
    expect(r.status).toBe(302);
    const loc = r.headers.get('location')!;
    expect(loc.startsWith(`${CALLBACK}?error=invalid_scope&error_description=A+requested+scope+is+invalid`)).toBe(true);
    expect(loc.endsWith('&state=st-1')).toBe(true);
    const desc = new URL(loc).searchParams.get('error_description');
    expect(desc).toBe(`${INVALID_SCOPE_PREFIX}url:GET|/api/v1/nope and url:GET|/api/v1/other`);
  });

  it('with a scoped key and no scope param, the description ends with "granted: "', async () => {
    sb.control.setKey({ requireScopes: true });
    const r = await get(standardAuth());
    expect(new URL(r.headers.get('location')!).searchParams.get('error_description')).toBe(INVALID_SCOPE_PREFIX);
  });

  it('checks scopes before the binding, and the binding before response_type', async () => {
    sb.control.setKey({ requireScopes: true, binding: 'off' });
    let r = await get(standardAuth({ scope: 'url:GET|/api/v1/nope', response_type: 'token' }));
    expect(new URL(r.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
    sb.control.setKey({ requireScopes: false });
    r = await get(standardAuth({ response_type: 'token' }));
    expect(r.headers.get('location')).toBe(
      `${CALLBACK}?error=unauthorized_client&error_description=Client+does+not+have+access+to+the+specified+Canvas+account.&state=st-1`,
    );
    sb.control.setKey({ binding: 'on' });
    r = await get(standardAuth({ response_type: 'token' }));
    expect(r.headers.get('location')).toBe(`${CALLBACK}?error=unsupported_response_type&error_description=Only+response_type%3Dcode+is+permitted&state=st-1`);
  });

  it('omits state from error redirects when the client did not send one', async () => {
    sb.control.setKey({ binding: 'off' });
    const { state: _drop, ...params } = standardAuth();
    const r = await get(params);
    expect(new URL(r.headers.get('location')!).searchParams.has('state')).toBe(false);
  });

  it('handles prompt: none without a session, an unknown prompt, and login', async () => {
    let r = await get(standardAuth({ prompt: 'none' }));
    expect(r.headers.get('location')).toBe(`${CALLBACK}?error=login_required&error_description=prompt%3Dnone+but+there+is+no+current+session&state=st-1`);
    r = await get(standardAuth({ prompt: 'consent' }));
    expect(r.headers.get('location')).toBe(`${CALLBACK}?error=unsupported_prompt_type&error_description=prompt+must+be+%22none%22+%28or+omitted%29&state=st-1`);
    r = await get(standardAuth({ prompt: 'login' }));
    expect(r.headers.get('location')).toBe('/login/canvas');
  });

  it('prompt=none with a session but an untrusted key is interaction_required; trusted keys get a code silently', async () => {
    const b = browser(sb);
    await b.get(authUrl(sb, standardAuth()));
    await login(b);
    let r = await b.get(authUrl(sb, standardAuth({ prompt: 'none' })));
    expect(new URL(r.headers.get('location')!).searchParams.get('error')).toBe('interaction_required');
    sb.control.setKey({ trusted: true });
    r = await b.get(authUrl(sb, standardAuth({ prompt: 'none' })));
    const loc = new URL(r.headers.get('location')!);
    expect(loc.searchParams.get('code')).toMatch(/^[0-9a-f]{128}$/);
    expect(loc.searchParams.get('state')).toBe('st-1');
  });

  it('sends a browser without a session to the login form, which has stable ids and pre-fills unique_id', async () => {
    const b = browser(sb);
    const r = await b.get(authUrl(sb, standardAuth({ unique_id: 'admin' })));
    expect(r.status).toBe(302);
    const form = await (await b.get(r.headers.get('location')!)).text();
    for (const id of ['username', 'password', 'login-submit']) expect(form).toContain(`id="${id}"`);
    expect(form).toMatch(/id="username"[^>]*value="admin"/);
  });

  it('rejects a wrong password with the login form again', async () => {
    const b = browser(sb);
    await b.get(authUrl(sb, standardAuth()));
    const r = await login(b, 'admin', 'nope');
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('id="login-error"');
  });

  it('after login shows the consent page with Authorize and Cancel; Authorize redirects with a 128-hex code and state', async () => {
    const loc = await authorizeFlow(sb);
    expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
    expect([...loc.searchParams.keys()]).toEqual(['code', 'state']);
    expect(loc.searchParams.get('code')).toMatch(/^[0-9a-f]{128}$/);
    expect(loc.searchParams.get('state')).toBe('st-1');
  });

  it('Cancel redirects with access_denied and state, without error_description', async () => {
    const b = browser(sb);
    await b.get(authUrl(sb, standardAuth()));
    await login(b);
    const page = await (await b.get('/login/oauth2/confirm')).text();
    expect(page).toContain('id="authorize"');
    expect(page).toContain('id="cancel"');
    const r = await b.get('/login/oauth2/deny');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(`${CALLBACK}?error=access_denied&state=st-1`);
  });

  it('accept and deny without an OAuth session are 400 text/plain', async () => {
    const b = browser(sb);
    let r = await b.post('/login/oauth2/accept', { custom_csrf_token: 'x' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await r.text()).toBe('Invalid or missing session for oauth');
    r = await b.get('/login/oauth2/deny');
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('Invalid or missing session for oauth');
  });

  it('accept checks the custom CSRF token: missing, then invalid', async () => {
    const b = browser(sb);
    await b.get(authUrl(sb, standardAuth()));
    await login(b);
    await consentToken(b);
    let r = await b.post('/login/oauth2/accept', {});
    expect(await r.text()).toBe('Missing custom CSRF token');
    r = await b.post('/login/oauth2/accept', { custom_csrf_token: 'forged' });
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('Invalid custom CSRF token');
  });

  it('redirects client_not_allowed_for_user when the user may not issue tokens', async () => {
    const b = browser(sb);
    await b.get(authUrl(sb, standardAuth()));
    const r1 = await login(b, 'notoken');
    expect(r1.headers.get('location')).toBe('/login/oauth2/confirm');
    const r = await b.get('/login/oauth2/confirm');
    expect(r.headers.get('location')).toBe(
      `${CALLBACK}?error=client_not_allowed_for_user&error_description=The+current+user+is+logged+in+but+does+not+have+permission+to+authorize+this+application.`,
    );
  });

  it('appends with & when the redirect URI already has a query', async () => {
    sb.control.setKey({ redirectUris: [CALLBACK, 'http://localhost:3000/cb?x=1'], binding: 'off' });
    const r = await get(standardAuth({ redirect_uri: 'http://localhost:3000/cb?x=1' }));
    expect(r.headers.get('location')!.startsWith('http://localhost:3000/cb?x=1&error=unauthorized_client&')).toBe(true);
    sb.control.setKey({ redirectUris: [CALLBACK] });
  });

  it('accepts the local id of a global client id', async () => {
    sb.control.setKey({ binding: 'off' });
    const r = await get(standardAuth({ client_id: String(BigInt(DEMO_CLIENT_ID) % 10_000_000_000_000n) }));
    expect(r.status).toBe(302);
  });
});
