import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { buildDemoWorld } from '../../src/simulator/demo-world.js';
import { createLtiPlatform } from '../../src/simulator/lti-platform.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { apiGet, getTokens, UA } from './sandbox-helpers.js';

const FIXED = new Date('2026-09-01T12:00:00Z');

describe('Canvas sandbox: throttle', () => {
  let sb: CanvasSandbox;
  let token: string;
  beforeAll(async () => {
    // A frozen clock: the bucket does not leak, so the arithmetic is exact.
    sb = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), clock: () => FIXED, requestCost: 0.25 });
    await sb.start();
    token = (await getTokens(sb)).access_token;
  });
  afterAll(() => sb.stop());
  beforeEach(() => {
    sb.control.resetThrottle();
    sb.control.resetCounters();
    sb.control.configure({ latencyMs: 0, rateLimitMode: '403', throttle: { enabled: true } });
  });

  it('sends X-Request-Cost and X-Rate-Limit-Remaining (hwm − count) on token requests', async () => {
    let r = await apiGet(sb, '/api/v1/users/self', token);
    expect(r.headers.get('x-request-cost')).toBe('0.25');
    expect(r.headers.get('x-rate-limit-remaining')).toBe('599.75');
    r = await apiGet(sb, '/api/v1/users/self', token);
    expect(r.headers.get('x-rate-limit-remaining')).toBe('599.5');
  });

  it('sequential requests are never throttled', async () => {
    for (let i = 0; i < 30; i++) expect((await apiGet(sb, '/api/v1/users/self', token)).status).toBe(200);
    expect(sb.control.counters().throttled).toBe(0);
  });

  it('from a cold bucket 11 concurrent requests pass and the rest get 403 Rate Limit Exceeded in OSS mode (text/plain, real remainder, no cost)', async () => {
    sb.control.configure({ latencyMs: 300 });
    const rs = await Promise.all(Array.from({ length: 15 }, () => apiGet(sb, '/api/v1/users/self', token)));
    const ok = rs.filter((r) => r.status === 200);
    const throttled = rs.filter((r) => r.status === 403);
    expect(ok).toHaveLength(11);
    expect(throttled).toHaveLength(4);
    const t = throttled[0]!;
    expect(t.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    // 11 reservations of 50 = 550; the rejected request's 50 is handed back: hwm 600 − 550.
    expect(t.headers.get('x-rate-limit-remaining')).toBe('50.0');
    expect(t.headers.get('x-request-cost')).toBeNull();
    expect(t.headers.get('retry-after')).toBeNull();
    expect(await t.text()).toBe('403 Forbidden (Rate Limit Exceeded)\n');
    const c = sb.control.counters();
    expect(c.throttled).toBe(4);
    expect(c.requests['GET /api/v1/users/:id']).toBe(15);
    expect(c.peakConcurrency).toBeGreaterThanOrEqual(11);
    expect(c.inFlight).toBe(0);
  });

  it('in 429 mode the throttled answer is 429', async () => {
    sb.control.configure({ latencyMs: 300, rateLimitMode: '429' });
    const rs = await Promise.all(Array.from({ length: 13 }, () => apiGet(sb, '/api/v1/users/self', token)));
    const throttled = rs.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    expect(await throttled[0]!.text()).toBe('429 Forbidden (Rate Limit Exceeded)\n');
    expect(throttled[0]!.headers.get('x-rate-limit-remaining')).toBe('50.0');
    expect(throttled[0]!.headers.get('x-request-cost')).toBeNull();
    expect(throttled[0]!.headers.get('retry-after')).toBeNull();
  });

  it('429 is the default mode (hosted Canvas)', async () => {
    const fresh = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }), clock: () => FIXED, requestCost: 0.25, latencyMs: 300 });
    await fresh.start();
    try {
      const t = (await getTokens(fresh)).access_token;
      const rs = await Promise.all(Array.from({ length: 12 }, () => apiGet(fresh, '/api/v1/users/self', t)));
      const throttled = rs.filter((r) => r.status !== 200);
      expect(throttled.map((r) => r.status)).toEqual([429]);
      expect(await throttled[0]!.text()).toBe('429 Forbidden (Rate Limit Exceeded)\n');
    } finally {
      await fresh.stop();
    }
  });

  it('every response header name is lower case on the wire', async () => {
    const { request } = await import('node:http');
    const raw = await new Promise<string[]>((resolve, reject) => {
      const req = request(`${sb.url}/api/v1/accounts`, { headers: { authorization: `Bearer ${token}`, 'user-agent': UA } }, (res) => {
        res.resume();
        resolve(res.rawHeaders.filter((_, i) => i % 2 === 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw).toEqual(expect.arrayContaining(['link', 'x-rate-limit-remaining', 'x-request-cost', 'content-type']));
    expect(raw.filter((h) => h !== h.toLowerCase())).toEqual([]);
  });

  it('the LTI plugin routes (OpenID configuration, registrations, storage frame) send lower-case header names too', async () => {
    const { request } = await import('node:http');
    const platform = await createLtiPlatform();
    const lti = createCanvasSandbox({ world: buildDemoWorld({ courses: 2 }), plugins: [platform.plugin] });
    await lti.start();
    try {
      const names = (method: string, path: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; names: string[] }>((resolve, reject) => {
          const req = request(`${lti.url}${path}`, { method, headers: { 'user-agent': UA, ...headers } }, (res) => {
            res.resume();
            resolve({ status: res.statusCode!, names: res.rawHeaders.filter((_, i) => i % 2 === 0) });
          });
          req.on('error', reject);
          req.end(method === 'POST' ? '{}' : undefined);
        });
      const token = await platform.registrationToken();
      const answers = [
        await names('GET', '/api/lti/security/openid-configuration', { authorization: `Bearer ${token}` }),
        await names('GET', '/api/lti/security/openid-configuration'),
        await names('POST', '/api/lti/registrations', { 'content-type': 'application/json' }),
        await names('GET', '/post_message_forwarding'),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 401, 401, 200]);
      for (const a of answers) {
        expect(a.names).toEqual(expect.arrayContaining(['content-type', 'date']));
        expect(a.names.filter((h) => h !== h.toLowerCase())).toEqual([]);
      }
    } finally {
      await lti.stop();
    }
  });

  it('buckets are per access token', async () => {
    const other = (await getTokens(sb, 'limited')).access_token;
    sb.control.configure({ latencyMs: 300 });
    const rs = await Promise.all([
      ...Array.from({ length: 11 }, () => apiGet(sb, '/api/v1/users/self', token)),
      ...Array.from({ length: 11 }, () => apiGet(sb, '/api/v1/users/self', other)),
    ]);
    expect(rs.every((r) => r.status === 200)).toBe(true);
  });

  it('disabled throttle: no throttle headers and no 403', async () => {
    sb.control.configure({ latencyMs: 100, throttle: { enabled: false } });
    const rs = await Promise.all(Array.from({ length: 15 }, () => apiGet(sb, '/api/v1/users/self', token)));
    expect(rs.every((r) => r.status === 200 && r.headers.get('x-rate-limit-remaining') === null)).toBe(true);
  });

  it('latency keeps requests in flight so peak concurrency is observable, and counters reset', async () => {
    sb.control.configure({ latencyMs: 150, throttle: { enabled: false } });
    await Promise.all(Array.from({ length: 5 }, () => apiGet(sb, '/api/v1/courses/1001', token)));
    const c = sb.control.counters();
    expect(c.peakConcurrency).toBe(5);
    expect(c.requests).toEqual({ 'GET /api/v1/courses/:id': 5 });
    sb.control.resetCounters();
    expect(sb.control.counters().requests).toEqual({});
  });
});

describe('Canvas sandbox: fault injection and control over HTTP', () => {
  let sb: CanvasSandbox;
  let token: string;
  beforeAll(async () => {
    sb = createCanvasSandbox({ world: buildDemoWorld({ courses: 10 }) });
    await sb.start();
    token = (await getTokens(sb)).access_token;
  });
  afterAll(() => sb.stop());
  beforeEach(() => sb.control.clearFaults());

  it('500 for the next N matching requests, then normal answers', async () => {
    sb.control.injectFault({ path: '^/api/v1/courses/\\d+$', kind: '500', count: 2 });
    const a = await apiGet(sb, '/api/v1/courses/1001', token);
    expect(a.status).toBe(500);
    expect(await a.json()).toEqual({ errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }] });
    expect((await apiGet(sb, '/api/v1/users/self', token)).status).toBe(200);
    expect((await apiGet(sb, '/api/v1/courses/1001', token)).status).toBe(500);
    expect((await apiGet(sb, '/api/v1/courses/1001', token)).status).toBe(200);
  });

  it('502 and 503 come as HTML gateway pages', async () => {
    sb.control.injectFault({ path: 'users', kind: '502' });
    sb.control.injectFault({ path: 'users', kind: '503' });
    const a = await apiGet(sb, '/api/v1/users/self', token);
    const b = await apiGet(sb, '/api/v1/users/self', token);
    expect([a.status, b.status]).toEqual([502, 503]);
    expect(a.headers.get('content-type')).toContain('text/html');
  });

  it('malformed JSON bodies fail to parse', async () => {
    sb.control.injectFault({ path: 'enrollments', kind: 'malformed' });
    const r = await apiGet(sb, '/api/v1/courses/1001/enrollments', token);
    expect(r.status).toBe(200);
    await expect(r.json()).rejects.toThrow();
  });

  it('a timeout hangs until the client gives up; a reset drops the connection', async () => {
    sb.control.injectFault({ path: 'users', kind: 'timeout' });
    await expect(
      fetch(`${sb.url}/api/v1/users/self`, { headers: { authorization: `Bearer ${token}`, 'user-agent': UA }, signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    sb.control.injectFault({ path: 'users', kind: 'reset' });
    await expect(apiGet(sb, '/api/v1/users/self', token)).rejects.toThrow();
    expect((await apiGet(sb, '/api/v1/users/self', token)).status).toBe(200);
  });

  it('counts a hanging request as in flight until the client aborts, even across resetCounters()', async () => {
    sb.control.injectFault({ path: 'users', kind: 'timeout' });
    const aborter = new AbortController();
    const pending = fetch(`${sb.url}/api/v1/users/self`, { headers: { authorization: `Bearer ${token}`, 'user-agent': UA }, signal: aborter.signal }).catch(() => 'aborted');
    for (let i = 0; i < 50 && sb.control.counters().inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sb.control.counters().inFlight).toBe(1);
    sb.control.resetCounters();
    expect(sb.control.counters()).toMatchObject({ inFlight: 1, peakConcurrency: 1, requests: {} });
    aborter.abort();
    expect(await pending).toBe('aborted');
    for (let i = 0; i < 50 && sb.control.counters().inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sb.control.counters().inFlight).toBe(0);
  });

  it('control methods are reachable over HTTP', async () => {
    let r = await fetch(`${sb.url}/__sandbox/injectFault`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'accounts', kind: '503' }) });
    expect(r.status).toBe(200);
    expect((await apiGet(sb, '/api/v1/accounts', token)).status).toBe(503);
    r = await fetch(`${sb.url}/__sandbox/setKey`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ binding: 'off' }) });
    expect(((await r.json()) as { result: { binding: string } }).result.binding).toBe('off');
    expect((await apiGet(sb, '/api/v1/users/self', token)).status).toBe(401);
    await fetch(`${sb.url}/__sandbox/setKey`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ binding: 'on' }) });
    await fetch(`${sb.url}/__sandbox/resetCounters`, { method: 'POST' });
    await apiGet(sb, '/api/v1/accounts', token);
    const counters = (await (await fetch(`${sb.url}/__sandbox/counters`)).json()) as { result: { requests: Record<string, number> } };
    expect(counters.result.requests).toEqual({ 'GET /api/v1/accounts': 1 });
    expect((await fetch(`${sb.url}/__sandbox/nope`, { method: 'POST' })).status).toBe(404);
  });
});
