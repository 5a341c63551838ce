import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stopServer } from '../../src/http/graceful-shutdown.js';
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

describe('stopServer', () => {
  it('lets an in-flight request finish, refuses new connections, then resolves', async () => {
    const { port, arrived } = await listen((req, res) => {
      setTimeout(() => res.end(`done ${req.url}`), req.url === '/slow' ? 400 : 0);
    });
    const keepAlive = new Agent({ keepAlive: true });
    agents.push(keepAlive);
    await get(port, '/warm', keepAlive); // leaves an idle keep-alive connection
    const slowArrived = arrived('/slow');
    const slow = get(port, '/slow');
    await slowArrived; // the request is in flight on the server, not merely sent
    const events: string[] = [];
    const stopped = stopServer(server!, { graceMs: 5000, logger }).then(() => events.push('stopped'));
    await expect(get(port, '/new')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const res = await slow;
    events.push('slow answered');
    expect(res).toEqual({ status: 200, body: 'done /slow' });
    await stopped;
    expect(events).toEqual(['slow answered', 'stopped']);
  });

  it('cuts a stuck request after the grace period', async () => {
    const { port, arrived } = await listen(() => undefined); // never answers
    const stuckArrived = arrived('/stuck');
    const stuck = get(port, '/stuck').catch((err: NodeJS.ErrnoException) => err.code);
    await stuckArrived;
    const started = Date.now();
    await stopServer(server!, { graceMs: 200, logger });
    // Not cut at once (the request was in flight), and cut well before a keep-alive timeout would.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await stuck).toBe('ECONNRESET');
  });
});
