/**
 * Webhook delivery figures (`npm run bench:webhooks`): N events published one by one while the
 * delivery worker runs (as in the service: 1 s poll, a kick on publish), to a loopback receiver.
 * Prints the lag from publish to receipt (p50/p95/max) and the throughput of draining a backlog.
 * Env: BENCH_EVENTS (default 500); BENCH_POSTGRES_URL to run on Postgres (a throwaway database is
 * created next to it and dropped at the end; the named database itself is never touched), else a
 * temp SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createAuditLog } from '../src/audit/audit-log.js';
import { createGuardedFetch } from '../src/net/guarded-fetch.js';
import { migrateToLatest, openStore } from '../src/store/database.js';
import { createVault, generateSecretKey, parseSecretKey } from '../src/vault/vault.js';
import { createDeliveryWorker } from '../src/webhooks/delivery-worker.js';
import { createWebhooksRepository } from '../src/webhooks/webhooks-repository.js';
import { createWebhooksService } from '../src/webhooks/webhooks-service.js';

const N = Number(process.env.BENCH_EVENTS ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'cc-bench-hooks-'));
const base = process.env.BENCH_POSTGRES_URL;
const dbName = `cc_bench_hooks_${Date.now().toString(36)}`;
const admin = async (q: string) => {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(q);
  await c.end();
};
let url: string | undefined;
if (base) {
  await admin(`CREATE DATABASE ${dbName}`);
  const u = new URL(base);
  u.pathname = `/${dbName}`;
  url = u.toString();
}
const store = openStore(url ? { kind: 'postgres', url } : { kind: 'sqlite', file: join(dir, 'bench.sqlite') });
await migrateToLatest(store.db);
const received = new Map<string, number>();
const server = createServer((req, res) => {
  received.set(String(req.headers['webhook-id']), performance.now());
  req.resume();
  req.on('end', () => res.end('ok'));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
const vault = createVault(parseSecretKey(generateSecretKey()));
const clock = () => new Date();
const repo = createWebhooksRepository(store.db, store.dialect);
const fetchImpl = createGuardedFetch({ allowInsecure: true });
const worker = createDeliveryWorker({ repo, vault, fetch: fetchImpl, clock });
const service = createWebhooksService({ repo, vault, audit: createAuditLog({ db: store.db, clock }), clock, onPublished: () => worker.kick() });
await service.create({ url: receiverUrl, events: ['job.finished'] }, 'system');

const waitAll = async (ids: string[]) => {
  while (ids.some((id) => !received.has(id))) await new Promise((r) => setTimeout(r, 5));
};
const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// 1. Lag: events one by one, 20 ms apart, the worker running.
worker.start();
const sent = new Map<string, number>();
for (let i = 0; i < Math.min(N, 200); i++) {
  const [id] = await service.publish({ event: 'job.finished', integrationId: 'bench', data: { n: i } });
  sent.set(id!, performance.now());
  await new Promise((r) => setTimeout(r, 20));
}
await waitAll([...sent.keys()]);
const lags = [...sent].map(([id, t]) => received.get(id)! - t);
await worker.stop();

// 2. Backlog: N events written while no worker runs, then drained.
const backlog: string[] = [];
for (let i = 0; i < N; i++) backlog.push(...(await service.publish({ event: 'job.finished', integrationId: 'bench', data: { n: i } })));
const t0 = performance.now();
worker.start();
await waitAll(backlog);
const drainMs = performance.now() - t0;
await worker.stop();

console.log(`database: ${store.dialect}`);
console.log(`lag publish → receiver (${lags.length} events, 20 ms apart): p50 ${pct(lags, 50).toFixed(1)} ms, p95 ${pct(lags, 95).toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`);
console.log(`backlog of ${N}: drained in ${(drainMs / 1000).toFixed(2)} s (${Math.round(N / (drainMs / 1000))} deliveries/s, batches of 8)`);
await fetchImpl.close();
server.close();
await store.close();
if (base) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
rmSync(dir, { recursive: true, force: true });
