import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLaunchStore } from '../../src/lti/launch-store.js';
import { DEMO_CLIENT_SECRET, DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import { createBrowser, hiddenValue, type Browser } from '../support/browser-flow.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

/** What a host other than the integration's Canvas received. */
interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A second "Canvas" that records everything it is sent. It answers every API call with the 401
 * Canvas sends for a bad token (so a client holding a token would try a refresh) and the token
 * endpoint with invalid_grant: whatever credential reaches it shows up in `seen`.
 */
async function startRecordingHost(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if ((req.url ?? '').startsWith('/login/oauth2/token')) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'refresh_token not found' }));
        return;
      }
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="canvas-lms"' }).end(JSON.stringify({ errors: [{ message: 'Invalid access token.' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Every credential the service could have sent to `host`: none may appear. */
function credentialsSeen(seen: Seen[], secrets: string[]): string[] {
  const found: string[] = [];
  for (const s of seen) {
    if (s.headers.authorization) found.push(`${s.method} ${s.path}: Authorization header`);
    if (/refresh_token=|client_secret=/.test(s.body)) found.push(`${s.method} ${s.path}: refresh_token/client_secret in body`);
    for (const secret of secrets) if (`${s.path} ${s.body} ${JSON.stringify(s.headers)}`.includes(secret)) found.push(`${s.method} ${s.path}: a stored secret`);
  }
  return found;
}

const REVOKE = 'DELETE /login/oauth2/token';

describe.each(testDatabases())('credentials follow the Canvas URL ($name)', (tdb) => {
  let h: Harness;
  let evil: Awaited<ReturnType<typeof startRecordingHost>>;

  beforeAll(async () => {
    h = await startHarness(tdb);
    h.sandbox.control.setKey({ requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES] });
    evil = await startRecordingHost();
  });
  afterAll(async () => {
    await evil?.close();
    await h?.close();
  });

  /** A verified integration and the secrets it holds. */
  async function connected(): Promise<{ id: string; secrets: string[] }> {
    const id = await h.createIntegration();
    await h.authorize(id);
    const v = await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    expect(v.body.state).toBe('verified');
    const token = (await h.c.integrations.getToken(id))!;
    return { id, secrets: [token.accessToken, token.refreshToken!, DEMO_CLIENT_SECRET] };
  }

  const revokes = () => h.sandbox.control.counters().requests[REVOKE] ?? 0;

  it('API PATCH of canvasUrl drops token and secret, revokes at the old Canvas, and verify or a refresh send nothing to the new host', async () => {
    const { id, secrets } = await connected();
    const revokedBefore = revokes();
    const activeBefore = h.sandbox.control.activeTokens({}).length;
    evil.seen.length = 0;

    const patched = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: evil.url });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ canvasUrl: evil.url, clientSecretSet: false, status: { state: 'not_connected', reasons: [], tokenOwner: null } });
    expect(patched.body.status.checks).toEqual([expect.objectContaining({ name: 'credentials_reset', ok: false })]);
    expect(patched.body.status.checks[0].detail).toContain('Canvas URL changed');
    expect(await h.c.integrations.getToken(id)).toBeUndefined();
    expect(await h.c.integrations.getClientSecret(id)).toBeUndefined();
    // The old Canvas saw the revocation of exactly this token.
    expect(revokes()).toBe(revokedBefore + 1);
    expect(h.sandbox.control.activeTokens({}).length).toBe(activeBefore - 1);

    const verify = await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    expect(verify.status).toBe(200);
    expect(verify.body.state).toBe('not_connected');
    h.advance(2 * 60 * 60 * 1000); // past the access token's hour: any stored token would be refreshed now
    await expect(h.c.tokenSources.forIntegration(id).current()).rejects.toMatchObject({ name: 'TokenUnavailableError' });
    await expect(h.c.tokenSources.forIntegration(id).refresh(secrets[0]!)).rejects.toMatchObject({ name: 'TokenUnavailableError' });
    const preflight = await h.api('POST', `/api/v1/integrations/${id}/preflight`, {});
    expect(preflight.status).toBe(200);

    // The secret must be entered again before anyone can authorize against the new host.
    const link = await h.api('POST', `/api/v1/integrations/${id}/authorization-links`, {});
    expect(link.status).toBe(400);
    expect(link.body.error.message).toContain('clientSecret');

    expect(credentialsSeen(evil.seen, secrets)).toEqual([]);
    const audit = await h.c.audit.list(id);
    expect(audit.find((e) => e.action === 'integration.credentials_dropped')?.detail).toMatchObject({ changed: ['canvasUrl'], previousCanvasUrl: h.sandbox.url, revokedAtCanvas: true, tokenDropped: true, secretDropped: true });
  });

  it('a new secret sent with the new Canvas URL is kept, the old token still is not', async () => {
    const { id, secrets } = await connected();
    evil.seen.length = 0;
    const patched = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: evil.url, clientSecret: 'secret-for-the-new-host' });
    expect(patched.body).toMatchObject({ clientSecretSet: true, status: { state: 'not_connected' } });
    expect(await h.c.integrations.getClientSecret(id)).toBe('secret-for-the-new-host');
    expect(await h.c.integrations.getToken(id)).toBeUndefined();
    await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    expect(credentialsSeen(evil.seen, secrets)).toEqual([]);
  });

  it("a new Canvas URL forgets the old Canvas's other name unless the same change names one", async () => {
    const { id } = await connected();
    const named = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasOtherUrl: 'http://localhost:9' });
    expect(named.body).toMatchObject({ canvasOtherUrl: 'http://localhost:9' });
    const moved = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: evil.url });
    expect(moved.body).toMatchObject({ canvasUrl: evil.url, canvasOtherUrl: null });
    const both = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: h.sandbox.url, canvasOtherUrl: 'http://localhost:9' });
    expect(both.body).toMatchObject({ canvasUrl: h.sandbox.url, canvasOtherUrl: 'http://localhost:9' });
  });

  it('API PATCH of clientId drops token and secret as well, and a patch that repeats the same values drops nothing', async () => {
    const { id } = await connected();
    const same = await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: h.sandbox.url, clientId: (await h.c.integrations.get(id))!.clientId });
    expect(same.body).toMatchObject({ clientSecretSet: true, status: { state: 'verified' } });
    const revokedBefore = revokes();
    const patched = await h.api('PATCH', `/api/v1/integrations/${id}`, { clientId: '10000000000999' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ clientId: '10000000000999', clientSecretSet: false, status: { state: 'not_connected' } });
    expect(patched.body.status.checks[0].detail).toContain('client id changed');
    expect(await h.c.integrations.getToken(id)).toBeUndefined();
    expect(revokes()).toBe(revokedBefore + 1);
  });

  it('a token issued while the Canvas URL changed is not stored under the new URL', async () => {
    const id = await h.createIntegration();
    const before = (await h.c.integrations.get(id))!;
    await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: evil.url });
    const token = { accessToken: 'late-token', refreshToken: 'late-refresh', expiresAt: null, ownerCanvasId: '1', ownerName: 'A', scopes: [] };
    await expect(h.c.integrations.saveToken(id, token, { canvasUrl: before.canvasUrl, clientId: before.clientId })).rejects.toMatchObject({ code: 'conflict' });
    expect(await h.c.integrations.getToken(id)).toBeUndefined();
  });

  it('a Canvas client built before the URL changed (a long job) never gets the token minted for the new URL', async () => {
    const id = await h.createIntegration({ canvasUrl: evil.url });
    const stale = h.c.canvasFor({ canvasUrl: evil.url });
    await h.api('PATCH', `/api/v1/integrations/${id}`, { canvasUrl: h.sandbox.url, clientSecret: DEMO_CLIENT_SECRET });
    await h.authorize(id);
    const token = (await h.c.integrations.getToken(id))!;
    evil.seen.length = 0;
    await expect(stale.request({ endpoint: 'users.self', path: { id: 'self' } }, h.c.tokenSources.forIntegration(id))).rejects.toMatchObject({ name: 'TokenUnavailableError' });
    expect(evil.seen).toEqual([]);
    expect(credentialsSeen(evil.seen, [token.accessToken, token.refreshToken!])).toEqual([]);
    // A client for the integration's own Canvas still works.
    const fresh = h.c.canvasFor((await h.c.integrations.get(id))!);
    expect((await fresh.request({ endpoint: 'users.self', path: { id: 'self' } }, h.c.tokenSources.forIntegration(id))).status).toBe(200);
  });

  describe('institution sessions', () => {
    async function settingsForm(b: Browser, id: string, values: Record<string, string>) {
      const page = await b.go(`${h.appUrl}/integrations/${id}`);
      expect(page.status).toBe(200);
      return b.go(`${h.appUrl}/integrations/${id}/settings`, { form: { _csrf: hiddenValue(page.text, '_csrf'), ...values } });
    }
    /** A refused settings form answers with a redirect to the settings page, which shows the refusal once. */
    async function expectRefused(b: Browser, id: string, r: { status: number; url: string; text: string }) {
      expect(r.status).toBe(200);
      expect(r.url).toBe(`${h.appUrl}/integrations/${id}#form-error`);
      expect(r.text).toContain('id="form-error"');
      expect((await b.go(`${h.appUrl}/integrations/${id}`)).text).not.toContain('id="form-error"');
    }

    it('a setup-link session gets 403 changing the Canvas URL or client id of a connected integration, and nothing changes', async () => {
      const { id } = await connected();
      const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
      const b = createBrowser();
      await b.go(link.body.url);
      const i = (await h.c.integrations.get(id))!;
      evil.seen.length = 0;

      const url = await settingsForm(b, id, { canvasUrl: evil.url, clientId: i.clientId });
      await expectRefused(b, id, url);
      expect(url.text).toContain('canvasUrl');
      expect(url.text).toContain('Disconnect first');
      const client = await settingsForm(b, id, { canvasUrl: i.canvasUrl, clientId: '10000000000999' });
      await expectRefused(b, id, client);
      expect(client.text).toContain('clientId');

      const after = await h.api('GET', `/api/v1/integrations/${id}`);
      expect(after.body).toMatchObject({ canvasUrl: h.sandbox.url, clientId: i.clientId, clientSecretSet: true, status: { state: 'verified' } });
      expect(await h.c.integrations.getToken(id)).toBeDefined();
      expect(evil.seen).toEqual([]);

      // The same session may still rotate the secret, and after Disconnect it may move the integration.
      const rotated = await settingsForm(b, id, { canvasUrl: i.canvasUrl, clientId: i.clientId, clientSecret: DEMO_CLIENT_SECRET });
      expect(rotated.status).toBe(200);
      expect(rotated.text).not.toContain('id="form-error"');
      const page = await b.go(`${h.appUrl}/integrations/${id}`);
      await b.go(`${h.appUrl}/integrations/${id}/disconnect`, { form: { _csrf: hiddenValue(page.text, '_csrf') } });
      const moved = await settingsForm(b, id, { canvasUrl: evil.url, clientId: i.clientId });
      expect(moved.status).toBe(200);
      expect(moved.text).not.toContain('id="form-error"');
      expect((await h.api('GET', `/api/v1/integrations/${id}`)).body).toMatchObject({ canvasUrl: evil.url, clientSecretSet: false });
    });

    it('an authorization-link session (/oauth/start) is refused the same way', async () => {
      const id = await h.createIntegration();
      const { browser } = await h.authorize(id);
      const i = (await h.c.integrations.get(id))!;
      expect(i.status.state).toBe('verified');
      const r = await settingsForm(browser, id, { canvasUrl: evil.url, clientId: i.clientId });
      await expectRefused(browser, id, r);
      expect((await h.c.integrations.get(id))!.canvasUrl).toBe(h.sandbox.url);
    });

    it('an LTI admin session is refused on the settings page, and the LTI page takes no Canvas URL', async () => {
      const id = await h.createIntegration();
      await h.authorize(id);
      const launches = createLaunchStore({ db: h.c.store.db, clock: h.c.clock });
      const token = await launches.createHandoff(id, { kind: 'admin', label: 'Demo State University', sub: 'lti-admin', name: 'Ada' });
      const b = createBrowser();
      const landed = await b.go(`${h.appUrl}/launch/handoff?token=${encodeURIComponent(token)}`);
      expect(landed.url).toBe(`${h.appUrl}/integrations/${id}`);
      const i = (await h.c.integrations.get(id))!;
      const r = await settingsForm(b, id, { canvasUrl: evil.url, clientId: i.clientId });
      await expectRefused(b, id, r);
      const ltiPage = await b.go(`${h.appUrl}/integrations/${id}/lti`);
      const lti = await b.go(`${h.appUrl}/integrations/${id}/lti`, {
        form: { _csrf: hiddenValue(ltiPage.text, '_csrf'), environment: 'production', clientId: '10000000000123', deploymentIds: '1:abc', canvasUrl: evil.url },
      });
      expect(lti.status).toBe(200);
      expect(lti.url).toBe(`${h.appUrl}/integrations/${id}/lti#lti-key-values`);
      expect(lti.text).toContain('data-field="canvasUrl"');
      expect((await h.c.integrations.get(id))!.canvasUrl).toBe(h.sandbox.url);
    });
  });

  describe('the LTI hand-over is single use', () => {
    it('several browsers open one hand-over link: none has access before confirming, exactly one confirm wins', async () => {
      const id = await h.createIntegration();
      const launches = createLaunchStore({ db: h.c.store.db, clock: h.c.clock });
      const token = await launches.createHandoff(id, { kind: 'admin', label: 'Demo State University', sub: 'lti-admin', name: 'Ada' });
      const link = `${h.appUrl}/launch/handoff?token=${encodeURIComponent(token)}`;
      const browsers = Array.from({ length: 4 }, () => createBrowser());
      const confirms: string[] = [];
      for (const b of browsers) {
        const step = await b.request(link);
        expect(step.status).toBe(303);
        confirms.push(new URL(step.headers.get('location')!, h.appUrl).toString());
        // Holding the link is not access: the session grants nothing before the token is used up.
        const page = await b.request(`${h.appUrl}/integrations/${id}`);
        expect(page.status).not.toBe(200);
      }
      const answers = await Promise.all(browsers.map((b, n) => b.request(confirms[n]!)));
      const winners = answers.filter((a) => a.status === 303 && a.headers.get('location') === `/integrations/${encodeURIComponent(id)}`);
      expect(winners).toHaveLength(1);
      const losers = answers.filter((a) => !winners.includes(a));
      expect(losers.map((a) => a.status)).toEqual([400, 400, 400]);
      for (const a of losers) expect(a.text).toContain('handoff_used');
      const access = await Promise.all(browsers.map(async (b) => (await b.request(`${h.appUrl}/integrations/${id}`)).status));
      expect(access.filter((s) => s === 200)).toHaveLength(1);
    });
  });
});
