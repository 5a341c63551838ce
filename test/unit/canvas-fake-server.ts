/**
 * A tiny loopback HTTP server for the Canvas client's unit tests: each test supplies a handler
 * and reads back what the client sent. Not the simulator: just enough Canvas to pin one behaviour.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless it is a string or Buffer. */
  body?: unknown;
  /** Never answer (for timeouts). */
  hang?: boolean;
  /** Answer after this many ms. */
  delayMs?: number;
}

export type FakeHandler = (req: SeenRequest, n: number) => FakeReply | Promise<FakeReply>;

export interface FakeCanvas {
  baseUrl: string;
  requests: SeenRequest[];
  setHandler(h: FakeHandler): void;
  close(): Promise<void>;
}

/** Starts a fake Canvas on 127.0.0.1:0. Close it in afterAll. */
export async function startFakeCanvas(handler: FakeHandler = () => ({ body: {} })): Promise<FakeCanvas> {
  let current = handler;
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        requests.push(seen);
        const reply = await current(seen, requests.length);
        if (reply.hang) return;
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        const isRaw = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
        res.writeHead(reply.status ?? 200, {
          'Content-Type': isRaw ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
          ...reply.headers,
        });
        res.end(isRaw ? reply.body : JSON.stringify(reply.body ?? null));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    setHandler(h) {
      current = h;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A Link header exactly as Canvas writes it: `<url>; rel="x"` joined by a comma and no space. */
export function canvasLink(rels: Array<[rel: string, url: string]>): string {
  return rels.map(([rel, url]) => `<${url}>; rel="${rel}"`).join(',');
}

/** An access-token source that counts refreshes. */
export function tokenSource(initial = 'token-1', refreshed = 'token-2') {
  const calls = { current: 0, refresh: [] as string[] };
  let token = initial;
  return {
    calls,
    source: {
      current: async () => {
        calls.current++;
        return token;
      },
      refresh: async (rejected: string) => {
        calls.refresh.push(rejected);
        token = refreshed;
        return token;
      },
    },
  };
}

/** Sleep that records waits and returns at once, so backoff tests run fast. */
export function instantSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}
