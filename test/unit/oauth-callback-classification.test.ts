import { describe, expect, it } from '@jest/globals';
import type { AuditLog } from '../../src/audit/audit-log.js';
import type { IntegrationsRepository } from '../../src/integrations/integrations-repository.js';
import { NOT_CONNECTED, type ConnectionStatus } from '../../src/integrations/reasons.js';
import { createCallbackHandler } from '../../src/integrations/callback.js';
import type { CanvasOAuth } from '../../src/oauth/canvas-oauth.js';
import { classifyTokenError } from '../../src/integrations/token-endpoint-reason.js';
import { diagnoseAuthorizeUrl } from '../../src/integrations/diagnose-url.js';
import type { OAuthStates } from '../../src/store/oauth-states.js';
import { createSignedLinks } from '../../src/integrations/signed-links.js';
import { normalizeCanvasUrl } from '../../src/integrations/integration.js';

function handler() {
  let status: ConnectionStatus = NOT_CONNECTED;
  let tokenSaved = false;
  const repo = {
    get: async () => ({ id: 'i1', canvasUrl: 'https://c.example', clientId: '1', status }),
    setStatus: async (_id: string, s: ConnectionStatus) => void (status = s),
    getClientSecret: async () => 's',
    saveToken: async () => void (tokenSaved = true),
  } as unknown as IntegrationsRepository;
  const states: OAuthStates = {
    save: async () => undefined,
    consume: async (state) =>
      state === 'good' ? { ok: true, pending: { integrationId: 'i1', codeVerifier: 'v', redirectUri: 'r', scopes: [], createdAt: '' } } : { ok: false, why: 'unknown' },
    consumeLatestForBrowser: async () => ({ ok: false, why: 'unknown' }),
    prune: async () => 0,
  };
  const audit: AuditLog = { record: async () => undefined, list: async () => [] };
  const h = createCallbackHandler({
    repo,
    states,
    oauth: {} as CanvasOAuth,
    verifier: { verify: async () => status },
    audit,
    clock: () => new Date(),
    redirectUri: 'https://us.example/oauth/callback',
  });
  return { h, status: () => status, tokenSaved: () => tokenSaved };
}

describe('callback classification of every Canvas authorize error', () => {
  it.each([
    ['access_denied', 'access_denied'],
    ['unauthorized_client', 'developer_key_off'],
    ['client_not_allowed_for_user', 'user_not_authorized'],
    ['unsupported_response_type', 'state_invalid'],
    ['unsupported_prompt_type', 'state_invalid'],
    ['login_required', 'access_denied'],
    ['interaction_required', 'access_denied'],
    ['invalid_request', 'state_invalid'],
    ['something_new', 'access_denied'],
  ])('error=%s becomes failed/%s with the detail saying what happened', async (error, reason) => {
    const { h, status } = handler();
    const out = await h.handle({ error, state: 'good' }, 'browser');
    expect(out).toMatchObject({ kind: 'failed', reason, canvasError: error });
    expect(out.detail.length).toBeGreaterThan(10);
    expect(status()).toMatchObject({ state: 'failed', reasons: [reason] });
  });

  it('invalid_scope lists the missing scopes parsed from the description', async () => {
    const { h } = handler();
    const out = await h.handle(
      { error: 'invalid_scope', state: 'good', error_description: 'A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: url:GET|/api/v1/accounts and url:GET|/api/v1/users/:id' },
      'browser',
    );
    expect(out).toMatchObject({ reason: 'missing_scopes', missingScopes: ['url:GET|/api/v1/accounts', 'url:GET|/api/v1/users/:id'] });
  });

  it('an unknown state or a missing state is state_invalid and changes nothing', async () => {
    const { h, status, tokenSaved } = handler();
    expect(await h.handle({ code: 'c', state: 'forged' }, 'browser')).toMatchObject({ kind: 'state_invalid', reason: 'state_invalid' });
    expect(await h.handle({ code: 'c' }, 'browser')).toMatchObject({ kind: 'state_invalid' });
    expect(status()).toBe(NOT_CONNECTED);
    expect(tokenSaved()).toBe(false);
  });
});

describe('token endpoint errors', () => {
  it('maps Canvas token errors to reasons', () => {
    expect(classifyTokenError(401, { error: 'invalid_client', error_description: 'unknown client' }, 'refresh_token').reason).toBe('invalid_client');
    expect(classifyTokenError(400, { error: 'invalid_request', error_description: 'refresh_token not found' }, 'refresh_token').reason).toBe('token_revoked');
    expect(classifyTokenError(400, { error: 'invalid_grant', error_description: 'incorrect client' }, 'refresh_token').reason).toBe('token_revoked');
    expect(classifyTokenError(400, { error: 'invalid_grant', error_description: 'authorization_code not found' }, 'authorization_code').reason).toBe('state_invalid');
    expect(classifyTokenError(503, {}, 'authorization_code').reason).toBe('canvas_unreachable');
  });
});

describe('diagnostics, signed links and Canvas URLs', () => {
  it('diagnoses pasted URLs and JSON bodies', () => {
    expect(diagnoseAuthorizeUrl('https://x/cb?error=unauthorized_client&error_description=Client+does+not+have+access+to+the+specified+Canvas+account.')).toMatchObject({ error: 'unauthorized_client', missingScopes: [], reason: 'developer_key_off' });
    expect(diagnoseAuthorizeUrl('{"error":"invalid_request","error_description":"redirect_uri does not match client settings"}')).toMatchObject({ error: 'invalid_request', reason: 'redirect_uri_mismatch' });
    expect(diagnoseAuthorizeUrl('hello')).toEqual({ error: null, description: null, missingScopes: [], reason: null });
  });

  it('signed links verify only for their purpose, untampered and unexpired', () => {
    let now = 1_000_000_000_000;
    const links = createSignedLinks({ secret: 'k', clock: () => new Date(now) });
    const t = links.sign('setup', 'abc', new Date(now + 60_000));
    expect(links.verify('setup', t)).toBe('abc');
    expect(links.verify('authorize', t)).toBeUndefined();
    expect(links.verify('setup', `${t}x`)).toBeUndefined();
    expect(createSignedLinks({ secret: 'other', clock: () => new Date(now) }).verify('setup', t)).toBeUndefined();
    now += 61_000;
    expect(links.verify('setup', t)).toBeUndefined();
  });

  it('normalises Canvas URLs and refuses private hosts unless insecure URLs are allowed', () => {
    expect(normalizeCanvasUrl(' https://School.instructure.com/ ', { allowInsecure: false })).toEqual({ ok: true, url: 'https://school.instructure.com' });
    expect(normalizeCanvasUrl('canvas.school.edu:8443/x?y', { allowInsecure: false })).toEqual({ ok: true, url: 'https://canvas.school.edu:8443' });
    for (const bad of ['http://a.edu', 'https://192.168.1.2', 'https://172.20.0.1', 'https://169.254.169.254', 'https://[fd00::1]', 'ftp://a.edu', 'https://u:p@a.edu']) {
      expect(normalizeCanvasUrl(bad, { allowInsecure: false }).ok).toBe(false);
    }
    expect(normalizeCanvasUrl('http://127.0.0.1:4000', { allowInsecure: true })).toEqual({ ok: true, url: 'http://127.0.0.1:4000' });
  });
});
