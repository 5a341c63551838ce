import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { createTestContainer } from '../../support/test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const TOKEN = 'bootstrap-token-for-request-log-0123456789';

/** The request log: one line per answered request, with its id, method, redacted URL, status and latency. */
describe('request log', () => {
  let c: TestContainer;
  let app: ReturnType<typeof createApp>;
  const lines = () =>
    c.log
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const linesFor = (url: string) => lines().filter((l) => (l.req as { url?: string } | undefined)?.url === url);

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: TOKEN } });
    app = createApp(c);
  });
  afterAll(async () => {
    await c.close();
  });

  it('logs each request once, when it is answered: reqId, method and URL, status, latency, in this order', async () => {
    await request(app).get('/login?next=%2Fjobs').expect(200);
    const [line, ...more] = linesFor('/login?next=%2Fjobs');
    expect(more).toEqual([]);
    expect(Object.keys(line!)).toEqual(['level', 'time', 'reqId', 'req', 'res', 'responseTime', 'msg']);
    expect(line).toMatchObject({ level: 30, req: { id: line!.reqId, method: 'GET', url: '/login?next=%2Fjobs' }, res: { statusCode: 200 }, msg: 'request completed' });
    expect(Object.keys(line!.req as object)).toEqual(['id', 'method', 'url']);
    expect(Object.keys(line!.res as object)).toEqual(['statusCode']);
    expect(typeof line!.responseTime).toBe('number');
  });

  it('numbers requests 1, 2, 3… and logs Bearer API calls and 404s alike, never a header', async () => {
    await request(app).get('/api/v1/whoami').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    await request(app).get('/api/v1/nothing-here').set('Authorization', `Bearer ${TOKEN}`).expect(404);
    await request(app).get('/api/v1/whoami').set('Authorization', 'Bearer wrong').expect(401);
    const whoami = linesFor('/api/v1/whoami');
    expect(whoami.map((l) => (l.res as { statusCode: number }).statusCode)).toEqual([200, 401]);
    expect(linesFor('/api/v1/nothing-here')).toMatchObject([{ res: { statusCode: 404 }, msg: 'request completed' }]);
    const ids = lines()
      .filter((l) => l.reqId !== undefined)
      .map((l) => l.reqId as number);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(c.log.text()).not.toContain(TOKEN);
    expect(c.log.text()).not.toContain('wrong');
  });

  it('redacts secret query values and does not log health checks or static files', async () => {
    await request(app).get('/oauth/callback?code=SECRET-CODE&state=SECRET-STATE');
    await request(app).get('/healthz');
    await request(app).get('/readyz');
    await request(app).get('/static/app.css');
    expect(c.log.text()).not.toContain('SECRET-');
    expect(lines().some((l) => String((l.req as { url?: string } | undefined)?.url).startsWith('/oauth/callback?code=[redacted]&state=[redacted]'))).toBe(true);
    expect(lines().filter((l) => /^\/(healthz|readyz|static\/)/.test(String((l.req as { url?: string } | undefined)?.url)))).toEqual([]);
  });

  it('a 500 is logged as "request errored" with its error, and the failure itself with the same reqId', async () => {
    const get = c.integrations.get;
    c.integrations.get = async () => {
      throw new Error('the database went away');
    };
    try {
      await request(app).get('/api/v1/integrations/x').set('Authorization', `Bearer ${TOKEN}`).expect(500);
    } finally {
      c.integrations.get = get;
    }
    const failed = lines().find((l) => l.msg === 'request failed');
    const errored = linesFor('/api/v1/integrations/x')[0]!;
    expect(Object.keys(errored)).toEqual(['level', 'time', 'reqId', 'req', 'res', 'err', 'responseTime', 'msg']);
    expect(errored).toMatchObject({ level: 30, res: { statusCode: 500 }, err: { type: 'Error', message: 'failed with status code 500' }, msg: 'request errored' });
    expect(failed).toMatchObject({ level: 50, reqId: errored.reqId, code: 'internal', err: { message: 'the database went away' } });
    expect(Object.keys(failed!).slice(0, 3)).toEqual(['level', 'time', 'reqId']);
  });
});
