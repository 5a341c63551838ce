import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { shutdownInOrder, stopServer } from '../../src/http/graceful-shutdown.js';
import { createLogger } from '../../src/logger/logger.js';

const logger = createLogger('silent');
let server: Server | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server!.close(() => r()));
});

/**
 * One request. `agent: false` opens a fresh connection (so "refused" really tests the listener,
 * never a pooled socket the server already closed); pass a keep-alive Agent to leave the
 * connection open and idle afterwards.
 */
function get(port: number, path: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent, headers: { Connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Like {@link get} on a fresh connection, also returning the answer's Connection header. */
function getWithHeaders(port: number, path: string): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts a server and returns its port and a promise per path that resolves when the server has received that request. */
async function listen(handler: (req: IncomingMessage, res: Parameters<Parameters<typeof createServer>[1] & {}>[1]) => void) {
  const arrivals = new Map<string, () => void>();
  const arrived = (path: string) => new Promise<void>((r) => arrivals.set(path, r));
  server = createServer((req, res) => {
    arrivals.get(req.url ?? '')?.();
    handler(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, arrived };
}

/** A promise with its resolve function, and whether it has settled (checked, never waited on with a timer). */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const p = new Promise<T>((r) => (resolve = r));
  const state = { settled: false };
  void p.then(() => (state.settled = true));
  return { promise: p, resolve, state };
}

/** Settles `p` and reports whether it had settled (a microtask later, no timer). */
function tracked<T>(p: Promise<T>) {
  const state = { settled: false };
  const out = p.finally(() => (state.settled = true));
  return Object.assign(out, { state });
}

describe('stopServer', () => {
  // The request's answer is released by the test (no timer in the handler): the earlier version
  // answered after a 400 ms timer and swept idle connections every 50 ms, so about one run in three
  // both fired in one event-loop turn and the server closed before the client had read the answer.
  it('lets an in-flight request finish, refuses new connections, then resolves', async () => {
    const answer = deferred();
    const { port, arrived } = await listen((req, res) => {
      if (req.url === '/slow') void answer.promise.then(() => res.end('done /slow'));
      else res.end(`done ${req.url}`);
    });
    const keepAlive = new Agent({ keepAlive: true });
    agents.push(keepAlive);
    await get(port, '/warm', keepAlive); // leaves an idle keep-alive connection
    const slowArrived = arrived('/slow');
    const slow = getWithHeaders(port, '/slow');
    await slowArrived; // the request is in flight on the server, not merely sent
    const stopped = tracked(stopServer(server!, { graceMs: 60_000, logger }));
    await expect(get(port, '/new')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(stopped.state.settled).toBe(false); // the in-flight request holds the shutdown
    answer.resolve();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.body).toBe('done /slow');
    await stopped;
  });

  it('cuts a stuck request when the grace period is over, and logs why', async () => {
    const warnings: unknown[] = [];
    const spy = Object.assign(Object.create(logger) as typeof logger, { warn: (o: unknown) => void warnings.push(o) });
    const { port, arrived } = await listen(() => undefined); // never answers
    const stuckArrived = arrived('/stuck');
    const stuck = get(port, '/stuck').catch((err: NodeJS.ErrnoException) => err.code);
    await stuckArrived;
    await stopServer(server!, { graceMs: 1, logger: spy });
    expect(await stuck).toBe('ECONNRESET');
    expect(warnings).toEqual([expect.objectContaining({ why: 'grace period over' })]);
  });

  it('keeps waiting for a stuck request within the grace period, and cuts it at once when forced (a second signal)', async () => {
    const { port, arrived } = await listen(() => undefined); // never answers
    const stuckArrived = arrived('/stuck');
    const stuck = tracked(get(port, '/stuck').catch((err: NodeJS.ErrnoException) => err.code));
    await stuckArrived;
    const force = new AbortController();
    const stopped = tracked(stopServer(server!, { graceMs: 60_000, logger, force: force.signal }));
    await expect(get(port, '/new')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(stuck.state.settled).toBe(false);
    expect(stopped.state.settled).toBe(false);
    force.abort();
    expect(await stuck).toBe('ECONNRESET');
    await stopped;
  });
});

describe('shutdownInOrder', () => {
  it('marks the instance not ready, hands the jobs back while requests are still served, then drains requests, then closes', async () => {
    const events: string[] = [];
    const jobsReleased = deferred();
    const { port } = await listen((req, res) => {
      events.push(`served ${req.url}`);
      res.end('ok');
    });
    const done = shutdownInOrder({
      server: server!,
      logger,
      markStopping: () => events.push('not ready'),
      stopJobs: async () => {
        events.push('jobs stopping');
        await jobsReleased.promise;
        events.push('jobs released');
      },
      close: async () => void events.push('closed'),
    });
    expect(events).toEqual(['not ready', 'jobs stopping']);
    // While the jobs hand themselves back, the server still answers.
    expect((await get(port, '/during-jobs')).status).toBe(200);
    jobsReleased.resolve();
    await done;
    expect(events).toEqual(['not ready', 'jobs stopping', 'served /during-jobs', 'jobs released', 'closed']);
    await expect(get(port, '/after')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('goes on to drain requests when the jobs do not hand themselves back within their timeout', async () => {
    const events: string[] = [];
    await listen((_req, res) => res.end('ok'));
    await shutdownInOrder({
      server: server!,
      logger,
      markStopping: () => undefined,
      stopJobs: () => new Promise<void>(() => undefined), // never returns
      close: async () => void events.push('closed'),
      timeouts: { jobsMs: 1, requestsMs: 1000 },
    });
    expect(events).toEqual(['closed']);
  });
});
