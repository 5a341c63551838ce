/**
 * Several real service instances (child processes running `src/main.ts`) on one fresh Postgres
 * database, reached through a TCP proxy the test can cut, plus the Canvas sandbox in this process.
 * One helper per action, so scenarios read as steps: start instances, connect an integration,
 * start a refresh through an instance, find which instance runs a job, wait for a job, cut the
 * database, kill or stop an instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { buildDemoWorld, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../src/simulator/demo-world.js';
import { generateSecretKey } from '../../src/vault/vault.js';
import { freePort } from './free-port.js';
import { completeCanvasSide, createBrowser } from './browser-flow.js';
import { createPostgresDatabase } from './databases.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const CLUSTER_API_TOKEN = 'multi-instance-test-token-0123456789abcdef';

/** Polls `cond` every 50 ms until it holds (returns its value) or `ms` passed (throws naming `what`). */
export async function until<T>(what: string, cond: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP proxy in front of Postgres: `cut()` ends every connection through it and refuses new ones until `restore()`. */
export interface DbProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startDbProxy(target: { host: string; port: number }): Promise<DbProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      down = true;
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => r());
      }),
  };
}

export interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  /** The last 20,000 characters the process wrote (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  alive(): boolean;
}

export interface Cluster {
  databaseUrl: string;
  databaseName: string;
  proxy: DbProxy;
  sandbox: CanvasSandbox;
  instances: Instance[];
  /** Starts one more instance (child process) on the same database; resolves once it was spawned. */
  start(name: string): Instance;
  ready(i: Instance, ms?: number): Promise<void>;
  readyz(i: Instance): Promise<number>;
  api(i: Instance, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Connects an integration to the sandbox through the real Generate Keys flow on instance `i`. */
  connectIntegration(i: Instance): Promise<string>;
  startRefresh(i: Instance, integrationId: string): Promise<string>;
  job(id: string): Promise<{ state: string; lease_owner: string | null; attempts: number; done: number; summary: string | null; error_code: string | null } | undefined>;
  waitJob(id: string, states: string[], ms?: number): Promise<NonNullable<Awaited<ReturnType<Cluster['job']>>>>;
  /** The instance whose process holds the job's lease, if any. */
  owner(jobId: string): Promise<Instance | undefined>;
  courseCounts(integrationId: string): Promise<{ courses: number; syncable: number; sections: number }>;
  /** Ends every connection to the database at Postgres (what a failover, a restart or a pooler does). */
  terminateBackends(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A fresh database next to `baseUrl`, a proxy in front of it, and the sandbox with the demo world of
 * `courses` courses answering after `latencyMs`. Instances are started with {@link Cluster.start}.
 */
export async function startCluster(baseUrl: string, opts: { courses: number; latencyMs: number }): Promise<Cluster> {
  const db = await createPostgresDatabase(baseUrl);
  const base = new URL(baseUrl);
  const proxy = await startDbProxy({ host: base.hostname, port: Number(base.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const databaseName = viaProxy.pathname.slice(1);
  const sandbox = createCanvasSandbox({ world: buildDemoWorld({ courses: opts.courses }), latencyMs: opts.latencyMs });
  await sandbox.start(0, '127.0.0.1');
  const secretKey = generateSecretKey();
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-cluster-'));
  const instances: Instance[] = [];
  const admin = new pg.Pool({ connectionString: db.url, max: 2 });
  admin.on('error', () => undefined);

  const ports: number[] = [];
  for (let i = 0; i < 8; i++) ports.push(await freePort());

  const cluster: Cluster = {
    databaseUrl: viaProxy.toString(),
    databaseName,
    proxy,
    sandbox,
    instances,
    start(name) {
      const port = ports.shift()!;
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          PORT: String(port),
          PUBLIC_URL: url,
          DATABASE_URL: viaProxy.toString(),
          SECRET_KEY: secretKey,
          BOOTSTRAP_API_TOKEN: CLUSTER_API_TOKEN,
          ALLOW_INSECURE_CANVAS_URLS: 'true',
          HEALTH_CHECK_INTERVAL_MINUTES: '0',
          LOG_LEVEL: 'info',
          DATA_DIR: join(dataDir, name),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const keep = (d: Buffer) => (out = (out + String(d)).slice(-20_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const inst: Instance = { name, url, child, output: () => out, exited, alive: () => child.exitCode === null && child.signalCode === null };
      instances.push(inst);
      return inst;
    },
    async readyz(i) {
      return fetch(`${i.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    },
    async ready(i, ms = 90_000) {
      await until(
        `${i.name} answers /readyz 200`,
        async () => {
          if (!i.alive()) throw new Error(`${i.name} exited (${i.child.exitCode ?? i.child.signalCode}): ${i.output()}`);
          return (await cluster.readyz(i)) === 200;
        },
        ms,
      );
    },
    async api(i, method, path, body) {
      const res = await fetch(`${i.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${CLUSTER_API_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async connectIntegration(i) {
      sandbox.control.setKey({ redirectUris: [`${i.url}/oauth/callback`] });
      const created = await cluster.api(i, 'POST', '/api/v1/integrations', {
        name: 'Cluster University',
        canvasUrl: sandbox.url,
        clientId: DEMO_CLIENT_ID,
        clientSecret: DEMO_CLIENT_SECRET,
      });
      if (created.status !== 201) throw new Error(`create integration: ${created.status} ${JSON.stringify(created.body)}`);
      const id = created.body.id as string;
      const link = await cluster.api(i, 'POST', `/api/v1/integrations/${id}/authorization-links`, {});
      if (link.status !== 201) throw new Error(`authorization link: ${link.status}`);
      const browser = createBrowser();
      await completeCanvasSide(browser, await browser.go(link.body.url));
      const state = (await cluster.api(i, 'GET', `/api/v1/integrations/${id}`)).body?.status?.state;
      if (state !== 'verified' && state !== 'degraded') throw new Error(`integration not connected: ${state}`);
      return id;
    },
    async startRefresh(i, integrationId) {
      const r = await cluster.api(i, 'POST', `/api/v1/integrations/${integrationId}/course-refresh`, { path: 'rest' });
      if (r.status !== 202) throw new Error(`course-refresh: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id as string;
    },
    async job(id) {
      const q = () => admin.query('select state, lease_owner, attempts, done, summary, error_code from jobs where id = $1', [id]);
      const r = await q().catch(() => q()); // once more after the test itself ended this pool's connections
      const row = r.rows[0];
      return row ? { ...row, attempts: Number(row.attempts), done: Number(row.done) } : undefined;
    },
    async waitJob(id, states, ms = 90_000) {
      return until(`job ${id} is ${states.join('|')}`, async () => {
        const j = await cluster.job(id);
        return j && states.includes(j.state) ? j : undefined;
      }, ms);
    },
    async owner(jobId) {
      const j = await cluster.job(jobId);
      const pid = j?.lease_owner ? Number(j.lease_owner.split(':')[1]) : undefined;
      return instances.find((i) => i.child.pid === pid);
    },
    async courseCounts(integrationId) {
      const c = await admin.query('select count(*)::int as n, coalesce(sum(syncable), 0)::int as s from courses where integration_id = $1', [integrationId]);
      const s = await admin.query('select count(*)::int as n from sections where integration_id = $1', [integrationId]);
      return { courses: c.rows[0].n, syncable: c.rows[0].s, sections: s.rows[0].n };
    },
    async terminateBackends() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        const r = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName]);
        return r.rowCount ?? 0;
      } finally {
        await c.end();
      }
    },
    async close() {
      for (const i of instances) if (i.alive()) i.child.kill('SIGKILL');
      await Promise.all(instances.map((i) => i.exited));
      await admin.end().catch(() => undefined);
      await sandbox.stop();
      await proxy.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}
