import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/logger/logger.js';
import { createGuardedFetch } from '../../src/net/guarded-fetch.js';
import { openStore } from '../../src/store/database.js';
import { createCanvasSandbox, type CanvasSandbox, type SandboxPlugin } from '../../src/simulator/sandbox.js';
import { buildDemoWorld, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../src/simulator/demo-world.js';
import { completeCanvasSide, createBrowser, type Browser, type Page } from './browser-flow.js';
import { captureLog, createTestContainer } from './test-container.js';
import type { TestDatabase } from './databases.js';

export const API_TOKEN = 'generate-keys-test-token-0123456789abcdef';

/** One token-endpoint request seen by the service (for secret scans: code, verifier, tokens). */
export interface TokenCall {
  body: string;
  response: string;
}

export interface Harness {
  sandbox: CanvasSandbox;
  c: Container & { log: ReturnType<typeof captureLog>; dataDir: string };
  appUrl: string;
  /** Moves the service's clock (not the sandbox's) forward. */
  advance(ms: number): void;
  tokenCalls: TokenCall[];
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
  createIntegration(over?: Record<string, unknown>): Promise<string>;
  /** Opens a fresh authorization link in `browser` and completes the Canvas side. */
  authorize(id: string, opts?: { browser?: Browser; username?: string; action?: 'authorize' | 'cancel' }): Promise<{ page: Page; browser: Browser }>;
  /** A second service instance on the same database (Postgres multi-instance tests). */
  secondInstance(): Promise<Container>;
  close(): Promise<void>;
}

/**
 * The Canvas sandbox plus a real canvas-companion app (listening on 127.0.0.1:0) on `tdb`, with a
 * bootstrap API token, insecure Canvas URLs allowed (http sandbox) and the sandbox's developer key
 * accepting our redirect URI. The service's fetch is the product's guarded fetch (insecure URLs
 * allowed, as the container builds it), wrapped to record token-endpoint traffic.
 */
export async function startHarness(tdb: TestDatabase, opts: { courses?: number; plugins?: SandboxPlugin[] } = {}): Promise<Harness> {
  const sandbox = createCanvasSandbox({ world: buildDemoWorld({ courses: opts.courses ?? 12 }), latencyMs: 0, plugins: opts.plugins });
  await sandbox.start(0, '127.0.0.1');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const tokenCalls: TokenCall[] = [];
  const guarded = createGuardedFetch({ allowInsecure: true });
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await guarded(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (url.includes('/login/oauth2/token')) {
      const copy = res.clone();
      tokenCalls.push({ body: String(init?.body ?? ''), response: await copy.text() });
    }
    return res;
  };
  const env = { PUBLIC_URL: appUrl, ALLOW_INSECURE_CANVAS_URLS: 'true', BOOTSTRAP_API_TOKEN: API_TOKEN, HEALTH_CHECK_INTERVAL_MINUTES: '0' };
  const c = await createTestContainer({ tdb, env, overrides: { clock, fetch: recordingFetch } });
  server.on('request', createApp(c));
  sandbox.control.setKey({ redirectUris: [c.config.redirectUri] });
  const extra: Container[] = [];

  const api: Harness['api'] = async (method, path, body) => {
    const res = await fetch(`${appUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };

  return {
    sandbox,
    c,
    appUrl,
    advance: (ms) => void (offset += ms),
    tokenCalls,
    api,
    async createIntegration(over = {}) {
      const r = await api('POST', '/api/v1/integrations', {
        name: 'Demo State University',
        canvasUrl: sandbox.url,
        clientId: DEMO_CLIENT_ID,
        clientSecret: DEMO_CLIENT_SECRET,
        ...over,
      });
      if (r.status !== 201) throw new Error(`create failed: ${r.text}`);
      return r.body.id as string;
    },
    async authorize(id, o = {}) {
      const browser = o.browser ?? createBrowser();
      const link = await api('POST', `/api/v1/integrations/${id}/authorization-links`, {});
      if (link.status !== 201) throw new Error(`link failed: ${link.text}`);
      const first = await browser.go(link.body.url);
      const page = await completeCanvasSide(browser, first, { username: o.username, action: o.action });
      return { page, browser };
    },
    async secondInstance() {
      const store = openStore(c.config.database);
      const other = await createContainer(c.config, { logger: createLogger('silent'), store, clock, fetch: recordingFetch });
      extra.push(other);
      return other;
    },
    async close() {
      for (const e of extra) await e.close();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await c.close();
      await guarded.close();
      await sandbox.stop();
    },
  };
}
