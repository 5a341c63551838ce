import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGuardedFetch, type GuardedFetch } from '../../src/net/guarded-fetch.js';
import { startFakeCanvas, type FakeCanvas } from './canvas-fake-server.js';

describe('guarded fetch', () => {
  let a: FakeCanvas;
  let b: FakeCanvas;
  let open: GuardedFetch;
  let strict: GuardedFetch;
  beforeAll(async () => {
    a = await startFakeCanvas();
    b = await startFakeCanvas(() => ({ body: 'from b' }));
    open = createGuardedFetch({ allowInsecure: true, resolve: async (h) => (h === 'b.example.edu' ? [{ address: '127.0.0.1', family: 4 }] : []) });
    strict = createGuardedFetch({ allowInsecure: false, resolve: async () => [{ address: '10.0.0.5', family: 4 }] });
  });
  afterAll(async () => {
    await open.close();
    await strict.close();
    await a.close();
    await b.close();
  });

  it('refuses before connecting: http, private literals and names resolving to private addresses (insecure off)', async () => {
    await expect(strict(`http://school.instructure.com/`)).rejects.toMatchObject({ name: 'OutboundRequestRefusedError', message: expect.stringMatching(/must use https/) });
    await expect(strict(`https://[::ffff:a9fe:a9fe]/latest/meta-data`)).rejects.toMatchObject({ message: expect.stringMatching(/link-local address 169\.254\.169\.254/) });
    await expect(strict(`https://school.instructure.com/`)).rejects.toMatchObject({ message: expect.stringMatching(/school\.instructure\.com resolves to a private address 10\.0\.0\.5/) });
  });

  it('follows redirects itself: drops Authorization and Cookie on a cross-origin hop, keeps them on the same origin', async () => {
    const bByName = b.baseUrl.replace('127.0.0.1', 'b.example.edu');
    a.setHandler((req) => (req.path === '/start' ? { status: 302, headers: { Location: '/same' }, body: '' } : { status: 307, headers: { Location: `${bByName}/other` }, body: '' }));
    const res = await open(`${a.baseUrl}/start`, { headers: { authorization: 'Bearer tok', cookie: 'c=1', 'x-keep': 'yes' } });
    expect(await res.text()).toBe('from b');
    expect(a.requests.map((r) => [r.path, r.headers.authorization, r.headers.cookie])).toEqual([
      ['/start', 'Bearer tok', 'c=1'],
      ['/same', 'Bearer tok', 'c=1'],
    ]);
    expect(b.requests.at(-1)!.headers.authorization).toBeUndefined();
    expect(b.requests.at(-1)!.headers.cookie).toBeUndefined();
    expect(b.requests.at(-1)!.headers['x-keep']).toBe('yes');
  });

  it('turns a 303 (or a 302 after POST) into a GET without body, and refuses a redirect to a non-http scheme', async () => {
    a.setHandler((req) => (req.method === 'POST' ? { status: 303, headers: { Location: '/done' }, body: '' } : { body: 'done' }));
    const res = await open(`${a.baseUrl}/form`, { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await res.text()).toBe('done');
    expect(a.requests.at(-1)).toMatchObject({ method: 'GET', path: '/done', body: '' });
    a.setHandler(() => ({ status: 302, headers: { Location: 'file:///etc/passwd' }, body: '' }));
    await expect(open(`${a.baseUrl}/x`)).rejects.toMatchObject({ name: 'OutboundRequestRefusedError', message: expect.stringMatching(/^redirect to file:/) });
  });

  it('stops after 5 redirects; redirect "manual" returns the 3xx and "error" rejects', async () => {
    a.setHandler((_r, n) => ({ status: 302, headers: { Location: `/loop/${n}` }, body: '' }));
    const before = a.requests.length;
    await expect(open(`${a.baseUrl}/loop`)).rejects.toThrow(/more than 5 redirects/);
    expect(a.requests.length - before).toBe(6);
    const manual = await open(`${a.baseUrl}/loop`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    await expect(open(`${a.baseUrl}/loop`, { redirect: 'error' })).rejects.toThrow(TypeError);
  });
});
