import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stopServer } from '../../src/http/graceful-shutdown.js';
import { createLogger } from '../../src/logger/logger.js';

const logger = createLogger('silent');
let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

function get(port: number, path: string, agentKeepAlive = true): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: agentKeepAlive ? { Connection: 'keep-alive' } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('stopServer', () => {
  it('lets an in-flight request finish, refuses new connections, then resolves', async () => {
    const port = await listen((req, res) => {
      setTimeout(() => res.end(`done ${req.url}`), req.url === '/slow' ? 400 : 0);
    });
    await get(port, '/warm'); // leaves an idle keep-alive connection
    const slow = get(port, '/slow');
    await new Promise((r) => setTimeout(r, 50));
    const events: string[] = [];
    const stopped = stopServer(server!, { graceMs: 5000, logger }).then(() => events.push('stopped'));
    await expect(get(port, '/new', false)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const res = await slow;
    events.push('slow answered');
    expect(res).toEqual({ status: 200, body: 'done /slow' });
    await stopped;
    expect(events).toEqual(['slow answered', 'stopped']);
  });

  it('cuts a stuck request after the grace period', async () => {
    const port = await listen(() => undefined); // never answers
    const stuck = get(port, '/stuck').catch((err: NodeJS.ErrnoException) => err.code);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await stopServer(server!, { graceMs: 200, logger });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await stuck).toBe('ECONNRESET');
  });
});
