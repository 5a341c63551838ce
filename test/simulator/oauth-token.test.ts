import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { buildDemoWorld } from '../../src/simulator/demo-world.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import {
  apiGet,
  authorizeFlow,
  CALLBACK,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  getTokens,
  startSandbox,
  tokenRequest,
} from './sandbox-helpers.js';

const codeFor = async (sb: CanvasSandbox, extra: Record<string, string> = {}) => (await authorizeFlow(sb, { extra })).searchParams.get('code')!;
const exchange = (sb: CanvasSandbox, code: string, over: Record<string, string> = {}) =>
  tokenRequest(sb, { grant_type: 'authorization_code', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, code, redirect_uri: CALLBACK, ...over });

describe('Canvas sandbox: POST /login/oauth2/token', () => {
  let sb: CanvasSandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.stop());
  beforeEach(() => {
    sb.control.setKey({ workflowState: 'active', binding: 'on', publicClient: false });
    sb.control.resetCounters();
  });

  it('exchanges a code for the exact success key set; global_id is a string; expires_in is 3600', async () => {
    const r = await exchange(sb, await codeFor(sb));
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'canvas_region', 'expires_in', 'refresh_token', 'token_type', 'user']);
    expect(body['token_type']).toBe('Bearer');
    expect(body['expires_in']).toBe(3600);
    expect(body['user']).toEqual({ id: 1, name: 'Demo Admin', global_id: '10000000000001', effective_locale: 'en' });
    expect(body['access_token']).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(body['refresh_token']).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(sb.control.counters().tokenGrants).toEqual({ authorization_code: 1, refresh_token: 0 });
  });

  it('accepts client credentials by HTTP Basic and JSON bodies', async () => {
    const basic = Buffer.from(`${DEMO_CLIENT_ID}:${DEMO_CLIENT_SECRET}`).toString('base64');
    let r = await tokenRequest(sb, { grant_type: 'authorization_code', code: await codeFor(sb) }, { authorization: `Basic ${basic}` });
    expect(r.status).toBe(200);
    const code = await codeFor(sb);
    r = await fetch(`${sb.url}/login/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, code }),
    });
    expect(r.status).toBe(200);
  });

  it('a code is single use: the second exchange is invalid_grant authorization_code not found', async () => {
    const code = await codeFor(sb);
    expect((await exchange(sb, code)).status).toBe(200);
    const r = await exchange(sb, code);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'invalid_grant', error_description: 'authorization_code not found' });
    expect(sb.control.counters().tokenGrants.authorization_code).toBe(1);
  });

  it('a code expires after 10 minutes', async () => {
    let now = Date.now();
    const timed = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), clock: () => new Date(now) });
    await timed.start();
    try {
      const code = await codeFor(timed);
      now += 10 * 60 * 1000 + 1;
      const r = await exchange(timed, code);
      expect(await r.json()).toEqual({ error: 'invalid_grant', error_description: 'authorization_code not found' });
    } finally {
      await timed.stop();
    }
  });

  describe('error table', () => {
    const cases: Array<[string, Record<string, string>, number, string, string]> = [
      ['missing client_id', { client_id: '' }, 401, 'invalid_client', 'unknown client'],
      ['non-numeric client_id', { client_id: 'abc' }, 401, 'invalid_client', 'unknown client'],
      ['unknown client_id', { client_id: '10000000000099' }, 401, 'invalid_client', 'unknown client'],
      ['wrong secret', { client_secret: 'wrong' }, 401, 'invalid_client', 'invalid client'],
      ['missing code', { code: '' }, 400, 'invalid_request', 'You must provide the code parameter when using the authorization_code grant type'],
      ['unknown code', { code: 'f'.repeat(128) }, 400, 'invalid_grant', 'authorization_code not found'],
      ['unsupported grant', { grant_type: 'password' }, 400, 'unsupported_grant_type', 'The grant_type you requested is not currently supported'],
      ['missing refresh_token', { grant_type: 'refresh_token', code: '' }, 400, 'invalid_request', 'You must provide the refresh_token parameter when using the refresh_token grant type'],
      ['unknown refresh_token (hosted: invalid_grant)', { grant_type: 'refresh_token', refresh_token: 'nope' }, 400, 'invalid_grant', 'refresh_token not found'],
    ];
    it.each(cases)('%s', async (_name, over, status, error, description) => {
      const form: Record<string, string> = { grant_type: 'authorization_code', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, code: 'x'.repeat(128), ...over };
      for (const [k, v] of Object.entries(form)) if (v === '') delete form[k];
      const r = await tokenRequest(sb, form);
      expect(r.status).toBe(status);
      expect(await r.json()).toEqual({ error, error_description: description });
      expect(r.headers.get('www-authenticate')).toBe(status === 401 ? 'Canvas OAuth 2.0' : null);
    });

    it('a deactivated key is 401 unknown client before anything else', async () => {
      const code = await codeFor(sb);
      sb.control.setKey({ workflowState: 'inactive' });
      const r = await exchange(sb, code);
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({ error: 'invalid_client', error_description: 'unknown client' });
    });

    it('the binding is not checked at the token endpoint', async () => {
      const code = await codeFor(sb);
      sb.control.setKey({ binding: 'off' });
      expect((await exchange(sb, code)).status).toBe(200);
    });

    it('a code or refresh token issued to another key is invalid_grant incorrect client', async () => {
      const code = await codeFor(sb);
      const tokens = await getTokens(sb);
      sb.world.developerKeys.push({ ...sb.world.developerKeys[0]!, id: '10000000000002', secret: 'other-secret' });
      try {
        let r = await exchange(sb, code, { client_id: '10000000000002', client_secret: 'other-secret' });
        expect(await r.json()).toEqual({ error: 'invalid_grant', error_description: 'incorrect client' });
        r = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: '10000000000002', client_secret: 'other-secret', refresh_token: tokens.refresh_token });
        expect(await r.json()).toEqual({ error: 'invalid_grant', error_description: 'incorrect client' });
      } finally {
        sb.world.developerKeys.pop();
      }
    });
  });

  describe('PKCE S256', () => {
    const pair = () => {
      const verifier = randomBytes(32).toString('base64url');
      return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
    };

    it('succeeds with the matching verifier', async () => {
      const { verifier, challenge } = pair();
      const code = await codeFor(sb, { code_challenge: challenge, code_challenge_method: 'S256' });
      expect((await exchange(sb, code, { code_verifier: verifier })).status).toBe(200);
    });

    it('a verifier mismatch is 400 invalid_grant', async () => {
      const { challenge } = pair();
      const code = await codeFor(sb, { code_challenge: challenge, code_challenge_method: 'S256' });
      const r = await exchange(sb, code, { code_verifier: 'wrong-verifier-wrong-verifier-wrong-verifier-0' });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe('invalid_grant');
    });

    it('a public client may omit the secret with PKCE but not without it', async () => {
      sb.control.setKey({ publicClient: true });
      const { verifier, challenge } = pair();
      const code = await codeFor(sb, { code_challenge: challenge, code_challenge_method: 'S256' });
      const noPkce = await exchange(sb, code, { client_secret: '' });
      expect(noPkce.status).toBe(401);
      const form = { grant_type: 'authorization_code', client_id: DEMO_CLIENT_ID, code, code_verifier: verifier };
      const r = await tokenRequest(sb, form);
      expect(r.status).toBe(200);
    });
  });

  describe('refresh', () => {
    it('a confidential client gets a new access token and no refresh_token; the old access token stops working', async () => {
      const t = await getTokens(sb);
      const r = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
      expect(r.status).toBe(200);
      const body = (await r.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['access_token', 'canvas_region', 'expires_in', 'token_type', 'user']);
      expect(body['access_token']).not.toBe(t.access_token);
      expect((await apiGet(sb, '/api/v1/users/self', t.access_token)).status).toBe(401);
      expect((await apiGet(sb, '/api/v1/users/self', body['access_token'] as string)).status).toBe(200);
      // The same refresh token keeps working.
      const again = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
      expect(again.status).toBe(200);
      expect(sb.control.counters().tokenGrants.refresh_token).toBe(2);
    });

    it('a public client gets a rotated refresh token and the old one stops working', async () => {
      sb.control.setKey({ publicClient: true });
      const t = await getTokens(sb);
      const r = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, refresh_token: t.refresh_token });
      const body = (await r.json()) as Record<string, string>;
      expect(body['refresh_token']).toMatch(/^[A-Za-z0-9_-]{64}$/);
      expect(body['refresh_token']).not.toBe(t.refresh_token);
      const old = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, refresh_token: t.refresh_token });
      expect(await old.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh_token not found' });
    });

    it('an inactive key fails the client check first (401 unknown client)', async () => {
      const t = await getTokens(sb);
      sb.control.setKey({ workflowState: 'deleted' });
      const r = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
      expect(r.status).toBe(401);
    });
  });

  describe('revocation', () => {
    it('DELETE with the bearer token answers {} ; the API then says Revoked and refresh says not found', async () => {
      const t = await getTokens(sb);
      const r = await fetch(`${sb.url}/login/oauth2/token`, { method: 'DELETE', headers: { authorization: `Bearer ${t.access_token}` } });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({});
      const api = await apiGet(sb, '/api/v1/users/self', t.access_token);
      expect(api.status).toBe(401);
      expect(api.headers.get('www-authenticate')).toBe('Bearer realm="canvas-lms"');
      expect(await api.json()).toEqual({ errors: [{ message: 'Revoked access token.' }] });
      const refresh = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
      expect(refresh.status).toBe(400);
      expect(await refresh.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh_token not found' });
    });

    it('DELETE without a token is 400 with the documented message', async () => {
      const r = await fetch(`${sb.url}/login/oauth2/token`, { method: 'DELETE' });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ message: "can't delete OAuth access token when not using an OAuth access token" });
    });

    it('in classic style a revoked token is Invalid access token.', async () => {
      const t = await getTokens(sb);
      sb.control.revokeTokens({ userId: '1' });
      sb.control.configure({ tokenErrorStyle: 'classic' });
      try {
        expect(await (await apiGet(sb, '/api/v1/users/self', t.access_token)).json()).toEqual({ errors: [{ message: 'Invalid access token.' }] });
      } finally {
        sb.control.configure({ tokenErrorStyle: 'modern' });
      }
    });

    it('replace_tokens=1 deletes the user\'s other tokens for the key', async () => {
      const first = await getTokens(sb);
      const code = await codeFor(sb);
      expect((await exchange(sb, code, { replace_tokens: '1' })).status).toBe(200);
      expect((await apiGet(sb, '/api/v1/users/self', first.access_token)).status).toBe(401);
    });
  });

  describe('expiry', () => {
    it('an access token past its 1 h expiry is 401 Invalid access token. with WWW-Authenticate; refresh still works', async () => {
      let now = Date.now();
      const timed = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), clock: () => new Date(now) });
      await timed.start();
      try {
        const t = await getTokens(timed);
        now += 3600 * 1000 + 1000;
        const r = await apiGet(timed, '/api/v1/users/self', t.access_token);
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="canvas-lms"');
        expect(await r.json()).toEqual({ errors: [{ message: 'Invalid access token.' }] });
        const refresh = await tokenRequest(timed, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
        expect(refresh.status).toBe(200);
      } finally {
        await timed.stop();
      }
    });

    it('a public client token past its permanent expiry is Expired access token. with expired_at, and cannot be refreshed', async () => {
      let now = Date.now();
      const timed = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), clock: () => new Date(now) });
      await timed.start();
      try {
        timed.control.setKey({ publicClient: true });
        const t = await getTokens(timed);
        now += 2 * 3600 * 1000 + 1000;
        const r = await apiGet(timed, '/api/v1/users/self', t.access_token);
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="canvas-lms"');
        const body = (await r.json()) as { errors: Array<{ message: string; expired_at: string }> };
        expect(body.errors[0]!.message).toBe('Expired access token.');
        expect(Number.isNaN(Date.parse(body.errors[0]!.expired_at))).toBe(false);
        const refresh = await tokenRequest(timed, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, refresh_token: t.refresh_token });
        expect(await refresh.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh_token not found' });
      } finally {
        await timed.stop();
      }
    });

    it('tokenTtlSeconds shortens the lifetime and expireTokens() expires them now', async () => {
      const short = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), tokenTtlSeconds: 60 });
      await short.start();
      try {
        const t = await getTokens(short);
        expect(t.expires_in).toBe(60);
        expect(short.control.expireTokens({ userId: '1' })).toBe(1);
        expect((await apiGet(short, '/api/v1/users/self', t.access_token)).status).toBe(401);
      } finally {
        await short.stop();
      }
    });
  });
  describe('hosted vs open-source vs old self-hosted modes', () => {
    afterAll(() => {
      sb.control.configure({ refreshNotFoundError: 'invalid_grant', tokenEndpointErrors: 'json' });
    });
    const manualToken = (form: Record<string, string>) =>
      fetch(`${sb.url}/login/oauth2/token`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

    it('OSS mode answers a revoked refresh token with invalid_request', async () => {
      const t = await getTokens(sb);
      sb.control.revokeTokens({ userId: '1' });
      sb.control.configure({ refreshNotFoundError: 'invalid_request' });
      const r = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: t.refresh_token });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: 'invalid_request', error_description: 'refresh_token not found' });
      sb.control.configure({ refreshNotFoundError: 'invalid_grant' });
    });

    it('old self-hosted mode redirects token errors to redirect_uri (its query kept, then error, then error_description)', async () => {
      sb.control.configure({ tokenEndpointErrors: 'redirect' });
      const r = await manualToken({
        grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: 'nope', redirect_uri: `${CALLBACK}?x=1`,
      });
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe(`${CALLBACK}?x=1&error=invalid_grant&error_description=refresh_token+not+found`);
      const bad = await manualToken({ grant_type: 'authorization_code', client_id: DEMO_CLIENT_ID, client_secret: 'wrong', code: 'c', redirect_uri: CALLBACK });
      expect(bad.status).toBe(302);
      expect(bad.headers.get('location')).toBe(`${CALLBACK}?error=invalid_client&error_description=invalid+client`);
    });

    it('old self-hosted mode still answers JSON without a redirect_uri or with the OOB one, and successes are untouched', async () => {
      sb.control.configure({ tokenEndpointErrors: 'redirect' });
      const plain = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: 'nope' });
      expect(plain.status).toBe(400);
      expect(await plain.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh_token not found' });
      const oob = await tokenRequest(sb, { grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: 'nope', redirect_uri: 'urn:ietf:wg:oauth:2.0:oob' });
      expect(oob.status).toBe(400);
      const ok = await exchange(sb, await codeFor(sb));
      expect(ok.status).toBe(200);
    });

    it('json mode (default) never redirects', async () => {
      sb.control.configure({ tokenEndpointErrors: 'json' });
      const r = await manualToken({ grant_type: 'refresh_token', client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET, refresh_token: 'nope', redirect_uri: CALLBACK });
      expect(r.status).toBe(400);
    });
  });
});
