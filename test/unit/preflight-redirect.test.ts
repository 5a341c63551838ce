import { describe, expect, it } from '@jest/globals';
import { probeAuthorizeEndpoint, runPreflight } from '../../src/integrations/preflight.js';

const REDIRECT_URI = 'https://companion.example.edu/oauth/callback';

/** An older self-hosted Canvas: token-endpoint errors come back as a 302 to the redirect URI. */
function oldCanvas(tokenError: string, seen: Array<{ url: string; init?: RequestInit }>): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    seen.push({ url, init });
    if (url.endsWith('/login/oauth2/token')) {
      const location = `${REDIRECT_URI}?error=${tokenError}&error_description=${tokenError === 'invalid_client' ? 'unknown+client' : 'authorization_code+not+found'}`;
      return new Response(null, { status: 302, headers: { location } });
    }
    return new Response(null, { status: 302, headers: { location: 'https://canvas.example.edu/login/canvas' } });
  };
}

describe('preflight against a Canvas that redirects token-endpoint errors', () => {
  it.each([
    ['invalid_client', { ok: false, reason: 'invalid_client' }],
    ['invalid_grant', { ok: true }],
  ] as const)('does not follow the redirect and classifies the Location error %s', async (error, expected) => {
    const seen: Array<{ url: string; init?: RequestInit }> = [];
    const r = await runPreflight(oldCanvas(error, seen), { canvasUrl: 'https://canvas.example.edu', clientId: '170000000000001', clientSecret: 's3cret', redirectUri: REDIRECT_URI, scopes: [] });
    expect(r.checks.find((c) => c.name === 'client_credentials')).toMatchObject(expected);
    const tokenCall = seen.find((c) => c.url.endsWith('/login/oauth2/token'))!;
    expect(tokenCall.init?.redirect).toBe('manual');
    expect(String(tokenCall.init?.body)).not.toContain('redirect_uri');
    expect(seen.some((c) => c.url.startsWith(REDIRECT_URI))).toBe(false);
  });
});

describe('preflight: a key that does not grant some scopes', () => {
  /** Canvas redirects the authorize request back with invalid_scope naming the scopes not granted. */
  const refusing = (scopes: string[]): typeof fetch => async () =>
    new Response(null, { status: 302, headers: { location: `${REDIRECT_URI}?error=invalid_scope&error_description=${encodeURIComponent(`A requested scope is invalid, unknown, malformed, or exceeds the scope granted. The following scopes were not granted: ${scopes.join(' ')}`)}` } });
  const input = { canvasUrl: 'https://canvas.example.edu', clientId: '170000000000001', redirectUri: REDIRECT_URI, scopes: ['url:GET|/api/v1/users/:user_id/profile'] };

  it.each([
    [['url:GET|/api/v1/accounts'], 'The key does not grant 1 scope this service needs.'],
    [['url:GET|/api/v1/accounts', 'url:GET|/api/v1/courses/:id'], 'The key does not grant 2 scopes this service needs.'],
  ])('counts the missing scopes in words (%j)', async (missing, detail) => {
    const r = await probeAuthorizeEndpoint(refusing(missing), input);
    expect(r).toEqual({ outcome: 'failed', reason: 'missing_scopes', missingScopes: missing, detail });
  });
});
