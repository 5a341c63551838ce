import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { canvasFileHost } from '../../src/canvas/file-hosts.js';
import { createCanvasClient, encodeQuery, type CanvasClientOptions } from '../../src/canvas/client.js';
import { createThrottleGovernor } from '../../src/canvas/governor.js';
import type { EndpointId } from '../../src/canvas/types.js';
import { canvasRequests, throttleWait } from '../../src/metrics/metrics.js';
import { instantSleep, startFakeCanvas, tokenSource, type FakeCanvas } from './canvas-fake-server.js';

let fake: FakeCanvas;
beforeAll(async () => {
  fake = await startFakeCanvas();
});
afterAll(async () => {
  await fake.close();
});

const UA = 'canvas-companion-test/1.0 (+https://example.test)';
const W = { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' };
const THROTTLED = { status: 403, body: '403 Forbidden (Rate Limit Exceeded)\n', headers: { 'X-Rate-Limit-Remaining': '0.0' } };
const canvasError = (status: number, message: string, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: { errors: [{ message }] },
});

/** A client on fake time: sleeping advances the clock at once, so backoffs cost nothing. */
function makeClient(extra: Partial<CanvasClientOptions> = {}) {
  const s = instantSleep();
  let t = 0;
  const client = createCanvasClient({
    baseUrl: fake.baseUrl,
    userAgent: UA,
    clock: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
      await s.sleep(ms);
    },
    random: () => 0.5,
    ...extra,
  });
  return { client, waits: s.waits };
}

describe('requests', () => {
  it('sends User-Agent, Accept and the bearer token on every request, including pages and downloads', async () => {
    fake.setHandler((req) =>
      req.path === '/files/1/download' ? { body: 'a,b\n1,2\n' } : { body: [{ id: 1 }] },
    );
    const { client } = makeClient();
    const auth = tokenSource('tok-abc').source;
    await client.request({ endpoint: 'users.self' }, auth);
    for await (const _ of client.pages({ endpoint: 'users.self' }, auth)) void _;
    const bytes = await client.download(`${fake.baseUrl}/files/1/download?download_frd=1`, auth);
    expect(new TextDecoder().decode(bytes)).toBe('a,b\n1,2\n');
    expect(fake.requests).toHaveLength(3);
    for (const r of fake.requests) {
      expect(r.headers['user-agent']).toBe(UA);
      expect(r.headers.authorization).toBe('Bearer tok-abc');
    }
    expect(fake.requests[0]!.headers.accept).toBe('application/json');
  });

  it('fills the path template from the registry (users/self by default) and encodes include[] arrays', async () => {
    fake.setHandler(() => ({ body: {} }));
    const { client } = makeClient();
    await client.request({ endpoint: 'users.self' }, tokenSource().source);
    await client.request(
      { endpoint: 'courses.get', path: { id: 'sis_course_id:MATH 101/A' }, query: { include: ['term', 'teachers'], 'state[]': ['available'] } },
      tokenSource().source,
    );
    expect(fake.requests[0]!.path).toBe('/api/v1/users/self');
    expect(fake.requests[1]!.url.pathname).toBe('/api/v1/courses/sis_course_id:MATH%20101%2FA');
    expect(fake.requests[1]!.url.search).toBe('?include[]=term&include[]=teachers&state[]=available');
    expect(encodeQuery({ a: 1, b: undefined, c: true })).toBe('a=1&c=true');
  });

  it('POSTs a form body for report starts', async () => {
    fake.setHandler(() => ({ body: { id: 77, status: 'created' } }));
    const { client } = makeClient();
    const res = await client.request<{ id: number }>(
      {
        endpoint: 'accounts.reports.start',
        path: { account_id: '1', report: 'provisioning_csv' },
        form: { 'parameters[courses]': 'true', 'parameters[sections]': 'true' },
      },
      tokenSource().source,
    );
    expect(res.body.id).toBe(77);
    expect(fake.requests[0]!.method).toBe('POST');
    expect(fake.requests[0]!.path).toBe('/api/v1/accounts/1/reports/provisioning_csv');
    expect(new URLSearchParams(fake.requests[0]!.body).get('parameters[courses]')).toBe('true');
  });

  it('exposes X-Request-Cost and X-Rate-Limit-Remaining', async () => {
    fake.setHandler(() => ({ body: [], headers: { 'X-Request-Cost': '0.0123', 'X-Rate-Limit-Remaining': '599.75' } }));
    const res = await makeClient().client.request({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.requestCost).toBeCloseTo(0.0123);
    expect(res.rateLimitRemaining).toBeCloseTo(599.75);
  });

  it('follows a download redirect to a file store without sending it the bearer token', async () => {
    const store = await startFakeCanvas(() => ({ body: 'zip-bytes' }));
    try {
      fake.setHandler(() => ({ status: 302, headers: { Location: `${store.baseUrl}/bucket/report.zip?sig=abc` }, body: '' }));
      const bytes = await makeClient().client.download(`${fake.baseUrl}/files/9/download?download_frd=1`, tokenSource('tok-secret').source);
      expect(new TextDecoder().decode(bytes)).toBe('zip-bytes');
      expect(fake.requests[0]!.headers.authorization).toBe('Bearer tok-secret');
      expect(store.requests).toHaveLength(1);
      expect(store.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('refuses an undeclared endpoint and a download from another host without calling out', async () => {
    fake.setHandler(() => ({ body: {} }));
    const { client } = makeClient();
    await expect(client.request({ endpoint: 'courses.delete' as EndpointId }, tokenSource().source)).rejects.toThrow(/undeclared/i);
    await expect(client.download('https://files.evil.test/x.zip', tokenSource().source)).rejects.toMatchObject({ kind: 'bad_request' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('redirects', () => {
  it('does not follow an API redirect to another host: the target gets nothing, the call fails once as canvas_unreachable', async () => {
    const other = await startFakeCanvas(() => ({ body: { id: 666 } }));
    try {
      fake.setHandler(() => ({ status: 302, headers: { Location: `${other.baseUrl.replace('127.0.0.1', 'localhost')}/api/v1/users/self` }, body: '' }));
      const err = await makeClient().client.request({ endpoint: 'users.self' }, tokenSource('tok-secret').source).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'CanvasApiError', kind: 'network' });
      expect((err as { refused?: string }).refused).toMatch(/redirected users\.self to http:\/\/localhost:\d+, outside/);
      expect(other.requests).toHaveLength(0);
      expect(fake.requests).toHaveLength(1); // a refusal is not retried
    } finally {
      await other.close();
    }
  });

  it('follows a redirect within the Canvas origin, with the token', async () => {
    fake.setHandler((req) =>
      req.path === '/api/v1/users/self' ? { status: 301, headers: { Location: '/api/v1/users/self/moved' }, body: '' } : { body: { id: 1 } },
    );
    const res = await makeClient().client.request<{ id: number }>({ endpoint: 'users.self' }, tokenSource('tok-abc').source);
    expect(res.body).toEqual({ id: 1 });
    expect(fake.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/v1/users/self', 'Bearer tok-abc'],
      ['/api/v1/users/self/moved', 'Bearer tok-abc'],
    ]);
  });

  it('gives up after 5 redirects', async () => {
    fake.setHandler((_req, n) => ({ status: 302, headers: { Location: `/loop/${n}` }, body: '' }));
    await expect(makeClient().client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({ refused: expect.stringMatching(/more than 5 times/) });
    expect(fake.requests).toHaveLength(6);
  });

  it('sends the token to the file host Canvas named for that download only, and never to the file store it redirects to', async () => {
    const fileHost = await startFakeCanvas(() => ({ status: 302, headers: { Location: `${store.baseUrl}/bucket/r.zip?sig=1` }, body: '' }));
    const store = await startFakeCanvas(() => ({ body: 'zip-bytes' }));
    try {
      const named = `${fileHost.baseUrl.replace('127.0.0.1', 'localhost')}/accounts/1/files/9/download`;
      // Plays the institution's other name (no test resolves *.instructure.com).
      const { client } = makeClient({ otherUrl: new URL(named).origin });
      const bytes = await client.download(named, tokenSource('tok-secret').source, { namedByCanvas: true });
      expect(new TextDecoder().decode(bytes)).toBe('zip-bytes');
      expect(fileHost.requests[0]!.headers.authorization).toBe('Bearer tok-secret');
      expect(store.requests[0]!.headers.authorization).toBeUndefined();
      // Without Canvas naming it, the same URL is refused before any request.
      await expect(client.download(named, tokenSource().source)).rejects.toMatchObject({ kind: 'bad_request' });
      expect(fileHost.requests).toHaveLength(1);
    } finally {
      await fileHost.close();
      await store.close();
    }
  });
});

describe('report files on another host', () => {
  it('refuses, before any request, a file Canvas named on a host that is not the institution\'s Canvas', async () => {
    const other = await startFakeCanvas(() => ({ body: 'zip-bytes' }));
    try {
      const named = `${other.baseUrl.replace('127.0.0.1', 'localhost')}/accounts/1/files/9/download`;
      const err = await makeClient().client.download(named, tokenSource('tok-secret').source, { namedByCanvas: true }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'bad_request' });
      expect(String((err as Error).message)).toContain('neither this integration\'s Canvas');
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it("accepts the Canvas origin and the other name staff set for it, and no other tenant's *.instructure.com host", () => {
    const vanity = 'https://canvas.school.edu';
    const hosted = 'https://school.instructure.com';
    // Set to the *.instructure.com name, Canvas names the vanity host (the likelier case): accepted once staff named it.
    expect(canvasFileHost(hosted, hosted)).toEqual({ ok: true });
    expect(canvasFileHost(hosted, vanity, vanity)).toEqual({ ok: true });
    expect(canvasFileHost(vanity, hosted, hosted)).toEqual({ ok: true });
    const refused = canvasFileHost(hosted, vanity);
    expect(refused).toMatchObject({ ok: false });
    expect(!refused.ok && refused.why).toContain('set it as the integration\'s canvasOtherUrl');
    // Another institution's hosted name never gets the token, with or without an other name set.
    for (const other of [undefined, vanity]) {
      for (const bad of ['https://other.instructure.com', 'https://school.beta.instructure.com', 'http://canvas.school.edu', 'https://canvas.school.edu:8443', 'https://files.example.org']) {
        expect(canvasFileHost(hosted, bad, other)).toMatchObject({ ok: false });
      }
    }
  });
});

describe('throttling', () => {
  it('retries 403 Rate Limit Exceeded with a bucket-recovery backoff and returns the complete result', async () => {
    fake.setHandler((_req, n) => (n <= 2 ? THROTTLED : { body: [{ id: 1 }, { id: 2 }] }));
    const { client, waits } = makeClient();
    const res = await client.request<Array<{ id: number }>>({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.body).toHaveLength(2);
    expect(fake.requests).toHaveLength(3);
    expect(client.stats()).toMatchObject({ requests: 3, throttled: 2, retries: 2 });
    // Each throttle (remaining 0, nothing else in flight) waits out (50 − 0)/10 s of leak.
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * 5000);
  });

  it('counts each request by endpoint and status, and the backoff seconds, in the metrics', async () => {
    const requests = async (status: string) => (await canvasRequests.get()).values.find((v) => v.labels.endpoint === 'users.self' && v.labels.status === status)?.value ?? 0;
    const backoff = async () => (await throttleWait.get()).values.find((v) => v.labels.source === 'backoff' && v.metricName?.endsWith('_sum'))?.value ?? 0;
    const [ok0, throttled0, waited0] = [await requests('200'), await requests('403'), await backoff()];
    fake.setHandler((_req, n) => (n === 1 ? THROTTLED : { body: { id: 1 } }));
    const { client } = makeClient();
    await client.request({ endpoint: 'users.self' }, tokenSource().source);
    expect(await requests('200')).toBe(ok0 + 1);
    expect(await requests('403')).toBe(throttled0 + 1);
    // With a governor the client backs off briefly (random() × 500 ms) and the governor holds the rest.
    expect((await backoff()) - waited0).toBeCloseTo(0.25, 5);
  });

  it('retries 429 the same way', async () => {
    fake.setHandler((_req, n) => (n === 1 ? { status: 429, body: '429 Forbidden (Rate Limit Exceeded)\n' } : { body: { id: 1 } }));
    const { client } = makeClient();
    const res = await client.request<{ id: number }>({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.body.id).toBe(1);
    expect(client.stats().throttled).toBe(1);
  });

  it('loses no page when pages are throttled mid-list', async () => {
    fake.setHandler((req, n) => {
      if (n % 2 === 0) return THROTTLED;
      const page = Number(req.url.searchParams.get('page') ?? '1');
      const next = `${fake.baseUrl}${req.path}?page=${page + 1}&per_page=100`;
      const items = page < 4 ? Array.from({ length: 100 }, (_, i) => ({ id: (page - 1) * 100 + i })) : [{ id: 999 }];
      return { body: items, headers: { Link: `<${next}>; rel="next"` } };
    });
    const { client } = makeClient();
    const ids: number[] = [];
    for await (const page of client.pages<{ id: number }>({ endpoint: 'accounts.courses', path: { account_id: '1' } }, tokenSource().source)) {
      ids.push(...page.map((x) => x.id));
    }
    expect(ids).toHaveLength(301);
    expect(new Set(ids).size).toBe(301);
  });

  it('without a governor, backs off (50 − remaining)/10 s plus jitter itself', async () => {
    fake.setHandler((_req, n) => (n === 1 ? THROTTLED : { body: [] }));
    const { client, waits } = makeClient({ governor: null });
    await client.request({ endpoint: 'users.self' }, tokenSource().source);
    expect(waits).toHaveLength(1);
    expect(waits[0]!).toBeGreaterThanOrEqual(5000);
    expect(waits[0]!).toBeLessThanOrEqual(6000);
  });

  it('reads a negative X-Rate-Limit-Remaining on a 429 (a token client over its bucket) as a longer backoff, then completes', async () => {
    fake.setHandler((_req, n) =>
      n === 1 ? { status: 429, body: '429 Forbidden (Rate Limit Exceeded)\n', headers: { 'X-Rate-Limit-Remaining': '-150.0' } } : { body: { id: 1 } },
    );
    const { client, waits } = makeClient({ governor: null });
    const res = await client.request<{ id: number }>({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.body.id).toBe(1);
    expect(waits).toHaveLength(1);
    // (50 − (−150)) / 10 = 20 s, plus jitter.
    expect(waits[0]!).toBeGreaterThanOrEqual(20_000);
    expect(waits[0]!).toBeLessThanOrEqual(30_000);
  });

  it('gives up as throttled after the retry budget', async () => {
    fake.setHandler(() => THROTTLED);
    const { client } = makeClient({ maxThrottleTries: 4 });
    await expect(client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'throttled',
    });
    expect(fake.requests).toHaveLength(4);
  });

  it('governs concurrency by default (one governor per client)', async () => {
    let open = 0;
    let peak = 0;
    fake.setHandler(async () => {
      open++;
      peak = Math.max(peak, open);
      await new Promise((r) => setTimeout(r, 20));
      open--;
      return { body: {}, headers: { 'X-Rate-Limit-Remaining': '590' } };
    });
    const client = createCanvasClient({ baseUrl: fake.baseUrl, userAgent: UA });
    const auth = tokenSource().source;
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.request({ endpoint: 'courses.get', path: { id: String(i) } }, auth)));
    expect(client.governor?.limit()).toBeGreaterThanOrEqual(6);
    expect(peak).toBeGreaterThan(1);
    // What Canvas saw at once ≤ what the client had in flight ≤ what the governor allowed.
    expect(peak).toBeLessThanOrEqual(client.stats().peakInFlight);
    expect(client.stats().peakInFlight).toBeLessThanOrEqual(client.governor!.limit());
  });

  it('tells the governor about throttles so it pauses and shrinks', async () => {
    fake.setHandler((_req, n) => (n === 1 ? THROTTLED : { body: [], headers: { 'X-Rate-Limit-Remaining': '580' } }));
    let t = 0;
    const governor = createThrottleGovernor({ initial: 6, clock: () => new Date(t), sleep: async (ms) => void (t += ms) });
    const { client } = makeClient({ governor });
    await client.request({ endpoint: 'users.self' }, tokenSource().source);
    expect(governor.limit()).toBe(3);
    expect(governor.stats().throttles).toBe(1);
    expect(governor.inFlight()).toBe(0);
  });
});

describe('errors that are never retried', () => {
  it('does not retry a plain 403', async () => {
    fake.setHandler(() => ({ status: 403, body: 'Forbidden' }));
    const { client } = makeClient();
    await expect(client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'unauthorized',
      status: 403,
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('tells the User-Agent refusal (403 with Instructure\'s published body) from a permission denial, and says what to fix', async () => {
    fake.setHandler(() => ({ status: 403, body: { error: 'Forbidden', message: 'You are not authorized to access this site because you have not provided a valid user agent.' } }));
    const { client } = makeClient();
    const err = (await client.request({ endpoint: 'users.self' }, tokenSource().source).catch((e: unknown) => e)) as Error & { kind: string };
    expect(err.kind).toBe('bad_request');
    expect(err.message).toContain('without a valid User-Agent header');
    expect(err.message).toContain('a proxy between it and Canvas');
    expect(fake.requests).toHaveLength(1);
  });

  it('does not refresh on Insufficient scopes, and names the missing scope', async () => {
    fake.setHandler(() => canvasError(401, 'Insufficient scopes on access token.'));
    const { client } = makeClient();
    const t = tokenSource();
    await expect(
      client.request({ endpoint: 'courses.sections', path: { course_id: '3' } }, t.source),
    ).rejects.toMatchObject({
      kind: 'insufficient_scopes',
      missingScope: 'url:GET|/api/v1/courses/:course_id/sections',
      endpoint: 'courses.sections',
    });
    expect(t.calls.refresh).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry user-not-authorized, 404 or 400', async () => {
    for (const reply of [
      { status: 401, body: { status: 'unauthorized', errors: [{ message: 'user not authorized to perform that action' }] } },
      canvasError(404, 'The specified resource does not exist.'),
      { status: 400, body: { message: 'Insufficient permissions to filter by SIS fields' } },
    ]) {
      fake.setHandler(() => reply);
      const t = tokenSource();
      await expect(makeClient().client.request({ endpoint: 'users.self' }, t.source)).rejects.toMatchObject({ status: reply.status });
      expect(fake.requests).toHaveLength(1);
      expect(t.calls.refresh).toEqual([]);
    }
  });
});

describe('token refresh', () => {
  it('refreshes exactly once on 401 with WWW-Authenticate, then succeeds with the new token', async () => {
    fake.setHandler((req) =>
      req.headers.authorization === 'Bearer old' ? canvasError(401, 'Invalid access token.', W) : { body: { id: 42 } },
    );
    const t = tokenSource('old', 'new');
    const { client } = makeClient();
    const res = await client.request<{ id: number }>({ endpoint: 'users.self' }, t.source);
    expect(res.body.id).toBe(42);
    expect(t.calls.refresh).toEqual(['old']);
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('throws token_invalid when the refreshed token is refused too', async () => {
    fake.setHandler(() => canvasError(401, 'Invalid access token.', W));
    const t = tokenSource('old', 'new');
    await expect(makeClient().client.request({ endpoint: 'users.self' }, t.source)).rejects.toMatchObject({
      kind: 'token_invalid',
      tokenProblem: 'invalid',
    });
    expect(t.calls.refresh).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('reports a revoked token as token_revoked after the one refresh attempt', async () => {
    fake.setHandler(() => canvasError(401, 'Revoked access token.', W));
    await expect(makeClient().client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'token_invalid',
      tokenProblem: 'revoked',
    });
  });
});

describe('transient failures', () => {
  it('retries 5xx with growing jittered backoff, then succeeds', async () => {
    fake.setHandler((_req, n) => (n <= 2 ? canvasError(502, 'An error occurred.') : { body: [] }));
    const { client, waits } = makeClient();
    await client.request({ endpoint: 'users.self' }, tokenSource().source);
    expect(fake.requests).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(waits[1]!).toBeGreaterThan(waits[0]!);
  });

  it('gives up on 5xx after maxRetries as server / canvas_unreachable', async () => {
    fake.setHandler(() => canvasError(500, 'An error occurred.'));
    await expect(makeClient({ maxRetries: 2 }).client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'server',
    });
    expect(fake.requests).toHaveLength(3);
  });

  it('sends a POST to update_grades answered 500 exactly once and says its outcome is unknown', async () => {
    fake.setHandler(() => canvasError(500, 'An error occurred.'));
    const req = { endpoint: 'submissions.update_grades' as const, path: { course_id: '1', assignment_id: '2' }, form: { 'grade_data[3][posted_grade]': '4' } };
    await expect(makeClient({ maxRetries: 3 }).client.request(req, tokenSource().source)).rejects.toMatchObject({ kind: 'server', outcomeUnknown: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('sends a timing-out POST to update_grades (and an assignment create) exactly once', async () => {
    fake.setHandler(() => ({ hang: true }));
    const { client } = makeClient({ timeoutMs: 100, maxRetries: 3 });
    await expect(
      client.request({ endpoint: 'submissions.update_grades', path: { course_id: '1', assignment_id: '2' }, form: { 'grade_data[3][posted_grade]': '4' } }, tokenSource().source),
    ).rejects.toMatchObject({ kind: 'timeout', outcomeUnknown: true });
    expect(fake.requests).toHaveLength(1);
    await expect(client.request({ endpoint: 'assignments.create', path: { course_id: '1' }, form: { 'assignment[name]': 'x' } }, tokenSource().source)).rejects.toMatchObject({
      kind: 'timeout',
      outcomeUnknown: true,
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('still retries a throttled POST to update_grades (Canvas refused it before acting)', async () => {
    fake.setHandler((_req, n) => (n === 1 ? THROTTLED : { body: { id: 9, workflow_state: 'queued' } }));
    const res = await makeClient().client.request<{ id: number }>(
      { endpoint: 'submissions.update_grades', path: { course_id: '1', assignment_id: '2' }, form: { 'grade_data[3][posted_grade]': '4' } },
      tokenSource().source,
    );
    expect(res.body.id).toBe(9);
    expect(fake.requests).toHaveLength(2);
  });

  it('times out a hanging request and retries it', async () => {
    fake.setHandler((_req, n) => (n === 1 ? { hang: true } : { body: { id: 1 } }));
    const { client } = makeClient({ timeoutMs: 150 });
    const res = await client.request<{ id: number }>({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.body.id).toBe(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('fails with timeout after the retries', async () => {
    fake.setHandler(() => ({ hang: true }));
    await expect(makeClient({ timeoutMs: 100, maxRetries: 1 }).client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'timeout',
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a malformed JSON body, then fails as malformed', async () => {
    fake.setHandler(() => ({ body: '{"id": 1,', headers: { 'Content-Type': 'application/json' } }));
    await expect(makeClient({ maxRetries: 2 }).client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'malformed',
    });
    expect(fake.requests).toHaveLength(3);
  });

  it('recovers from a malformed body on retry', async () => {
    fake.setHandler((_req, n) => (n === 1 ? { body: '<html>oops' } : { body: { id: 5 } }));
    const res = await makeClient().client.request<{ id: number }>({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.body.id).toBe(5);
  });

  it('fails as network when nothing listens', async () => {
    const dead = await startFakeCanvas();
    const baseUrl = dead.baseUrl;
    await dead.close();
    const client = createCanvasClient({ baseUrl, userAgent: UA, sleep: async () => undefined, maxRetries: 1, governor: null });
    await expect(client.request({ endpoint: 'users.self' }, tokenSource().source)).rejects.toMatchObject({
      kind: 'network',
    });
  });
});
