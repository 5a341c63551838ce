import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import type { HostResolver } from '../../src/net/guarded-fetch.js';
import { startFakeCanvas, type FakeCanvas } from '../unit/canvas-fake-server.js';
import { createTestContainer } from '../support/test-container.js';
import type { CanvasApiError } from '../../src/canvas/errors.js';
import { reasonForCanvasFailure } from '../../src/integrations/canvas-failure-reason.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const API_TOKEN = 'outbound-guard-test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${API_TOKEN}` };
const token = { accessToken: 'tok-secret', refreshToken: 'r', expiresAt: null, ownerCanvasId: '1', ownerName: 'Owner', scopes: [] };

/** A DNS the test controls ("this name resolves to 127.0.0.1"); unknown names do not resolve. Counts lookups. */
function fakeDns(entries: Record<string, string>) {
  const asked: string[] = [];
  const table = new Map(Object.entries(entries));
  const resolve: HostResolver = async (hostname) => {
    asked.push(hostname);
    const address = table.get(hostname);
    return address ? [{ address, family: address.includes(':') ? 6 : 4 }] : [];
  };
  return { resolve, asked, set: (name: string, address: string) => void table.set(name, address) };
}

describe('outbound guard, end to end through the container (insecure Canvas URLs off)', () => {
  let canvas: FakeCanvas;
  let c: TestContainer;
  let app: ReturnType<typeof createApp>;
  // canvas.example.edu is public when the integration is saved, then points at loopback (rebinding).
  const dns = fakeDns({ 'canvas.example.edu': '93.184.216.34', 'private.example.edu': '10.0.0.5', 'meta.example.edu': '::ffff:169.254.169.254' });
  let id: string;

  beforeAll(async () => {
    canvas = await startFakeCanvas(() => ({ body: { id: 1, name: 'Owner' } }));
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: API_TOKEN, HEALTH_CHECK_INTERVAL_MINUTES: '0' }, overrides: { resolve: dns.resolve } });
    app = createApp(c);
    const port = new URL(canvas.baseUrl).port;
    const res = await request(app)
      .post('/api/v1/integrations')
      .set(auth)
      .send({ name: 'Lookalike', canvasUrl: `https://canvas.example.edu:${port}`, clientId: '10000000000001', clientSecret: 'secret' });
    expect(res.status).toBe(201);
    id = res.body.id as string;
    await c.integrations.saveToken(id, token);
    dns.set('canvas.example.edu', '127.0.0.1');
  });
  afterAll(async () => {
    await c.close();
    await canvas.close();
  });

  it('refuses a Canvas URL that is a private literal with 400 validation_failed naming canvasUrl and why', async () => {
    for (const [canvasUrl, why] of [
      ['https://[::ffff:127.0.0.1]', /loopback address 127\.0\.0\.1/],
      ['http://school.instructure.com', /must use https/],
      ['https://10.0.0.5', /private address 10\.0\.0\.5/],
    ] as const) {
      const res = await request(app).post('/api/v1/integrations').set(auth).send({ name: 'X', canvasUrl, clientId: '1' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toMatch(/^canvasUrl: /);
      expect(res.body.error.message).toMatch(why);
    }
  });

  it('refuses, when saved, a Canvas URL or LTI endpoint whose name resolves to a private address: 400 naming the field', async () => {
    const created = await request(app).post('/api/v1/integrations').set(auth).send({ name: 'X', canvasUrl: 'https://private.example.edu', clientId: '1' });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/^canvasUrl: private\.example\.edu resolves to a private address 10\.0\.0\.5/) });

    const lti = { environment: 'custom', clientId: '10000000000002', deploymentIds: ['1:a'], issuer: 'https://canvas.school.edu', authUrl: 'https://canvas.school.edu/auth', jwksUrl: 'https://meta.example.edu/jwks' };
    const patched = await request(app).patch(`/api/v1/integrations/${id}`).set(auth).send({ lti });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/^lti\.jwksUrl: meta\.example\.edu resolves to an IPv4-mapped form of a link-local address 169\.254\.169\.254/);
    expect((await c.integrations.get(id))?.lti).toBeUndefined();
  });

  it('a Canvas call to a public-looking name that resolves to 127.0.0.1 is refused at connect time: nothing reaches the server', async () => {
    const i = (await c.integrations.get(id))!;
    const before = dns.asked.length;
    const err = await c
      .canvasFor(i)
      .request({ endpoint: 'users.self' }, { current: async () => 'tok-secret', refresh: async () => 'tok-secret' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CanvasApiError', kind: 'network' });
    expect(reasonForCanvasFailure(err as CanvasApiError)).toBe('canvas_unreachable');
    expect((err as { refused?: string }).refused).toMatch(/canvas\.example\.edu resolves to a loopback address 127\.0\.0\.1/);
    expect(dns.asked.slice(before)).toEqual(['canvas.example.edu']); // resolved once, not retried
    expect(canvas.requests).toHaveLength(0);
  });

  it('preflight and verify report canvas_unreachable with the refusal as the detail, never a 500', async () => {
    const pre = await request(app).post(`/api/v1/integrations/${id}/preflight`).set(auth).send({});
    expect(pre.status).toBe(200);
    expect(pre.body.reasons).toEqual(['canvas_unreachable']);
    for (const check of pre.body.checks as Array<{ detail: string }>) expect(check.detail).toMatch(/resolves to a loopback address 127\.0\.0\.1/);

    const ver = await request(app).post(`/api/v1/integrations/${id}/verify`).set(auth).send({});
    expect(ver.status).toBe(200);
    expect(ver.body.reasons).toContain('canvas_unreachable');
    const self = (ver.body.checks as Array<{ name: string; detail: string }>).find((x) => x.name === 'users_self');
    expect(self?.detail).toMatch(/Canvas was not called: .*canvas\.example\.edu resolves to a loopback address 127\.0\.0\.1/);
    expect(canvas.requests).toHaveLength(0);
  });

  it('the specific course refresh answers 502 canvas_error (Canvas unreachable), not a 500', async () => {
    const res = await request(app).post(`/api/v1/integrations/${id}/courses/lookup`).set(auth).send({ query: '101' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('canvas_error');
    expect(res.body.error.help).toEqual(expect.any(String));
    expect(canvas.requests).toHaveLength(0);
  });
});

describe('outbound guard with insecure Canvas URLs on (the sandbox setting)', () => {
  let canvas: FakeCanvas;
  let other: FakeCanvas;
  let c: TestContainer;
  const dns = fakeDns({ 'canvas.example.edu': '127.0.0.1' });

  beforeAll(async () => {
    canvas = await startFakeCanvas(() => ({ body: { id: 1 } }));
    other = await startFakeCanvas(() => ({ body: { id: 666 } }));
    c = await createTestContainer({ env: { ALLOW_INSECURE_CANVAS_URLS: 'true', HEALTH_CHECK_INTERVAL_MINUTES: '0' }, overrides: { resolve: dns.resolve } });
  });
  afterAll(async () => {
    await c.close();
    await canvas.close();
    await other.close();
  });

  const tokenSource = { current: async () => 'tok-secret', refresh: async () => 'tok-secret' };

  it('connects through the injected resolver (the same path that refuses when insecure URLs are off)', async () => {
    const port = new URL(canvas.baseUrl).port;
    const res = await c.canvasFor({ canvasUrl: `http://canvas.example.edu:${port}` }).request<{ id: number }>({ endpoint: 'users.self' }, tokenSource);
    expect(res.body).toEqual({ id: 1 });
    expect(dns.asked).toContain('canvas.example.edu');
    expect(canvas.requests.at(-1)!.headers.authorization).toBe('Bearer tok-secret');
  });

  it('a Canvas answer redirecting to another host is not followed: the target receives nothing, least of all the token', async () => {
    canvas.setHandler(() => ({ status: 302, headers: { Location: `${other.baseUrl.replace('127.0.0.1', 'localhost')}/api/v1/users/self` }, body: '' }));
    const err = await c.canvasFor({ canvasUrl: canvas.baseUrl }).request({ endpoint: 'users.self' }, tokenSource).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CanvasApiError', kind: 'network' });
    expect(reasonForCanvasFailure(err as CanvasApiError)).toBe('canvas_unreachable');
    expect((err as { refused?: string }).refused).toMatch(/redirected users\.self to http:\/\/localhost:\d+/);
    expect(other.requests).toHaveLength(0);
  });

  it('still refuses non-http schemes', async () => {
    const res = await c.integrationSchemas.create.safeParse({ name: 'X', canvasUrl: 'file:///etc/passwd', clientId: '1' });
    expect(res.success).toBe(false);
  });
});
