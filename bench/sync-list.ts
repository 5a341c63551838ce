/**
 * `npm run bench:sync-list -- [--courses 1000] [--students 40] [--latency 20] [--naive-sample 100]`
 *
 * A sync list of N courses (each with a teacher and `students` students: about 40,000 enrollments
 * for the defaults) in a Canvas sandbox run as a child process; the account holds about 10 % more
 * courses (unpublished, or without the SIS id the list identifies courses by), which are not
 * listed. The list is re-synced three ways against the same world:
 *   (a) a naive client as the FAQ's sync behaves: one course at a time, per_page=10, its sections then
 *       its enrollments. It is sequential, so it is timed on the first `naive-sample` courses and
 *       scaled to N (printed as such);
 *   (b) the product's `sync_list_sync` on per-course REST (several courses at once under the governor);
 *   (c) the product's `sync_list_sync` reading one `provisioning_csv` report for the whole list.
 * Then, on (c)'s store: a re-sync with nothing changed (rows written, change entries, webhook
 * messages: all counted), and one change at Canvas with a webhook receiver on loopback (how long
 * after the run's end the signed `roster.changed` arrives). Prints wall times, requests, ratios and
 * this process's peak RSS (the product; the sandbox is another process). Not a test: the figures go
 * in the README.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { createAuditLog } from '../src/audit/audit-log.js';
import { createChangeLog } from '../src/changes/change-log.js';
import { createChangeLogRepository } from '../src/changes/change-log-repository.js';
import { createCanvasClient } from '../src/canvas/client.js';
import { createThrottleGovernor } from '../src/canvas/governor.js';
import { createInProcessRunner } from '../src/jobs/in-process-runner.js';
import { createJobRepository } from '../src/jobs/job-repository.js';
import type { Job } from '../src/jobs/types.js';
import { createGuardedFetch } from '../src/net/guarded-fetch.js';
import type { Counters } from '../src/simulator/sandbox-state.js';
import type { Store } from '../src/store/database.js';
import { createSyncListJob } from '../src/sync-list/sync-list-job.js';
import { createSyncListRepository } from '../src/sync-list/sync-list-repository.js';
import { createCourseRepository } from '../src/sync/course-repository.js';
import { createRosterReportSource } from '../src/sync/roster-report.js';
import { createRosterSync } from '../src/sync/roster-sync.js';
import type { SyncDeps } from '../src/sync/sync-deps.js';
import { createVault, generateSecretKey, parseSecretKey } from '../src/vault/vault.js';
import { createDeliveryWorker } from '../src/webhooks/delivery-worker.js';
import { createWebhooksRepository } from '../src/webhooks/webhooks-repository.js';
import { createWebhooksService } from '../src/webhooks/webhooks-service.js';
import { openBenchStore } from './bench-world.js';
import { forkBenchProcess, type BenchProcess } from './bench-process.js';
import type { SandboxProcessArgs } from './sandbox-process.js';

const { values: args } = parseArgs({
  options: {
    courses: { type: 'string', default: '1000' },
    students: { type: 'string', default: '40' },
    latency: { type: 'string', default: '20' },
    'naive-sample': { type: 'string', default: '100' },
    'report-delay': { type: 'string', default: '2000' },
    /** Which of (a) naive, (b) REST to run besides the report path (comma-separated). */
    paths: { type: 'string', default: 'naive,rest' },
  },
});
/** Courses on the sync list. */
const N = Number(args.courses);
const STUDENTS = Number(args.students);
const LATENCY = Number(args.latency);
/** The account's courses 0…i−1: course i is left off the list (unpublished, or no SIS id) when i % 20 = 7 or i % 25 = 3. */
const listable = (i: number) => i % 20 !== 7 && i % 25 !== 3;
/** How many courses the account needs for N listed ones. */
const WORLD = (() => {
  let m = 0;
  for (let listed = 0; listed < N; m++) if (listable(m)) listed++;
  return m;
})();
/** The naive client is timed on the listed courses among the account's first `naive-sample`. */
const SAMPLE = Math.min(WORLD, Number(args['naive-sample']));
const USER_AGENT = 'canvas-companion-bench/0.1';
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
let peakRss = 0;
let overallPeak = 0;
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  overallPeak = Math.max(overallPeak, rss);
}, 25);
/**
 * Starts a run's RSS count from a settled heap (run with --expose-gc, as `npm run bench:sync-list`
 * does): a service between two scheduled syncs has long collected the last one's garbage, which
 * back-to-back runs here would otherwise carry into the next run's figure.
 */
const settle = () => {
  (globalThis as { gc?: () => void }).gc?.();
  peakRss = process.memoryUsage().rss;
};

interface Sandbox {
  url: string;
  token: string;
  child: BenchProcess['child'];
  ask<T>(msg: object, reply: string): Promise<T>;
  stop(): Promise<void>;
}

/** The sandbox (default throttle, `latency` ms per request) in a child process, with a fresh copy of the world. */
async function startSandbox(): Promise<Sandbox> {
  const data: SandboxProcessArgs = { courses: WORLD, enrollmentsPerCourse: STUDENTS, options: { latencyMs: LATENCY, reportDelayMs: Number(args['report-delay']) } };
  const { child, next } = forkBenchProcess(new URL('./sandbox-process.ts', import.meta.url), data);
  const ready = await next<{ url: string; token: string }>('ready');
  return {
    url: ready.url,
    token: ready.token,
    child,
    ask<T>(msg: object, reply: string) {
      const r = next<T>(reply);
      child.send(msg);
      return r;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

const totalRequests = (c: Counters) => Object.values(c.requests).reduce((a, b) => a + b, 0);
const counters = async (s: Sandbox) => (await s.ask<{ counters: Counters }>({ type: 'counters' }, 'counters')).counters;
/** The listed courses among the account's first `n` (the sync list holds courses that can be synced). */
const listedIds = (n: number) => Array.from({ length: n }, (_, i) => i).filter(listable).map((i) => String(100_000 + i));

/** (a) One course at a time, per_page=10: its sections, then its enrollments (every state). */
async function runNaive(): Promise<{ seconds: number; requests: number; enrollments: number }> {
  const sandbox = await startSandbox();
  const headers = { Authorization: `Bearer ${sandbox.token}`, 'User-Agent': USER_AGENT };
  /** Every page of a list, following Canvas's `Link: rel="next"` (enrollments page by bookmark). */
  const getAll = async (first: string): Promise<unknown[]> => {
    const all: unknown[] = [];
    for (let url: string | undefined = first; url; ) {
      const res: Response = await fetch(url, { headers });
      if (res.status === 403 || res.status === 429) {
        await res.text();
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      all.push(...((await res.json()) as unknown[]));
      url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    }
    return all;
  };
  const ids = listedIds(SAMPLE);
  const t0 = performance.now();
  let enrollments = 0;
  for (const id of ids) {
    await getAll(`${sandbox.url}/api/v1/courses/${id}/sections`);
    enrollments += (await getAll(`${sandbox.url}/api/v1/courses/${id}/enrollments?state[]=active&state[]=invited&state[]=creation_pending&state[]=inactive&state[]=completed`)).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const requests = totalRequests(await counters(sandbox));
  await sandbox.stop();
  return { seconds, requests, enrollments };
}

interface Product {
  store: Store;
  dir: string;
  run(): Promise<{ job: Job; seconds: number }>;
  drained(): Promise<void>;
  close(): Promise<void>;
}

/** The product's job over a SQLite store, with the change log and (optionally) the webhook outbox wired as in the service. */
async function product(sandbox: Sandbox, opts: { report: boolean; webhookUrl?: string }): Promise<Product & { secret: string }> {
  const { store, dir } = await openBenchStore(sandbox.url, 'cc-bench-list-');
  const clock = () => new Date();
  const vault = createVault(parseSecretKey(generateSecretKey()));
  const hooksRepo = createWebhooksRepository(store.db, store.dialect);
  const worker = createDeliveryWorker({ repo: hooksRepo, vault, fetch: createGuardedFetch({ allowInsecure: true }), clock });
  const webhooks = createWebhooksService({ repo: hooksRepo, vault, audit: createAuditLog({ db: store.db, clock }), clock, onPublished: () => worker.kick() });
  let secret = '';
  if (opts.webhookUrl) {
    secret = (await webhooks.create({ url: opts.webhookUrl, events: ['roster.changed'] }, 'system')).secret;
    worker.start();
  }
  const changeLog = createChangeLog({ repo: createChangeLogRepository(store.db), listeners: [async (tx, appended) => {
    await webhooks.changeListener(tx, appended);
    if (appended.length > 0) setImmediate(() => worker.kick());
  }], clock });
  const governor = createThrottleGovernor();
  const deps: SyncDeps = {
    courses: createCourseRepository(store.db),
    clientFor: (s) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: USER_AGENT, governor }),
    tokenSourceFor: () => ({ current: async () => sandbox.token, refresh: async () => sandbox.token }),
    changeLog,
    clock,
  };
  const listRepo = createSyncListRepository(store.db);
  await listRepo.change('bench', { add: listedIds(WORLD), remove: [] }, 'bench', new Date().toISOString());
  const jobs = createJobRepository(store.db);
  const def = createSyncListJob({ repo: listRepo, syncRoster: createRosterSync(deps), report: opts.report ? createRosterReportSource(deps) : undefined, clock });
  const runner = createInProcessRunner({ repo: jobs, definitions: [def], pollMs: 20 });
  await runner.start();
  return {
    store,
    dir,
    secret,
    async run() {
      const t0 = performance.now();
      const job = await runner.enqueue('sync_list_sync', 'bench', { trigger: 'manual' });
      for (;;) {
        const j = (await jobs.get(job.id))!;
        if (j.state !== 'queued' && j.state !== 'running') {
          if (j.state !== 'succeeded') throw new Error(`sync_list_sync ${j.state}: ${JSON.stringify(j.error)}`);
          return { job: j, seconds: (performance.now() - t0) / 1000 };
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** Waits until every queued webhook message has been delivered (or given up). */
    async drained() {
      for (;;) {
        const left = await store.db.selectFrom('webhook_deliveries').select('id').where('status', 'in', ['pending']).executeTakeFirst();
        if (!left) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await runner.stop();
      await worker.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SYNCED_TABLES = ['roster_entries', 'sections', 'courses'] as const;
const countOf = async (store: Store, query: string) => Number(((await sql.raw(query).execute(store.db)).rows[0] as { n: number | string }).n);

/**
 * Copies the synced state aside inside the database (not into this process: the bench's own
 * memory would then show in the product's peak RSS), with the change log and outbox counts.
 */
async function snapshot(store: Store) {
  for (const t of SYNCED_TABLES) {
    await sql.raw(`DROP TABLE IF EXISTS bench_before_${t}`).execute(store.db);
    await sql.raw(`CREATE TABLE bench_before_${t} AS SELECT * FROM ${t}`).execute(store.db);
  }
  return { changes: await countOf(store, 'SELECT count(*) AS n FROM change_log'), messages: await countOf(store, 'SELECT count(*) AS n FROM webhook_deliveries') };
}

/** Rows now in the synced tables that are not, identical, in the snapshot (inserted or changed), and rows in all. */
async function rowsWrittenSince(store: Store) {
  let written = 0;
  let count = 0;
  for (const t of SYNCED_TABLES) {
    written += await countOf(store, `SELECT count(*) AS n FROM (SELECT * FROM ${t} EXCEPT SELECT * FROM bench_before_${t}) AS d`);
    written += await countOf(store, `SELECT count(*) AS n FROM (SELECT * FROM bench_before_${t} EXCEPT SELECT * FROM ${t}) AS d`);
    count += await countOf(store, `SELECT count(*) AS n FROM ${t}`);
  }
  return { written, count, changes: await countOf(store, 'SELECT count(*) AS n FROM change_log'), messages: await countOf(store, 'SELECT count(*) AS n FROM webhook_deliveries') };
}

async function main() {
  console.log(`bench:sync-list  ${N} courses listed (of ${WORLD} in the account), ${STUDENTS} students + 1 teacher each (${N * (STUDENTS + 1)} listed enrollments), latency ${LATENCY} ms, default throttle, report delay ${args['report-delay']} ms`);
  const paths = String(args.paths).split(',');
  const naive = paths.includes('naive') ? await runNaive() : { seconds: 0, requests: 0, enrollments: 0 };
  const naiveFull = (naive.seconds * N) / listedIds(SAMPLE).length;
  console.log(`(a) naive, sequential, per_page=10  ${naive.seconds.toFixed(1)} s for ${listedIds(SAMPLE).length} courses (${naive.requests} requests, ${naive.enrollments} enrollments) → ${naiveFull.toFixed(0)} s scaled to ${N} courses`);

  /** (b)'s re-sync with nothing changed: what (c)'s re-sync is compared with. */
  let restResync = { seconds: 0 };
  if (paths.includes('rest')) {
    const restSandbox = await startSandbox();
    const rest = await product(restSandbox, { report: false });
    const r = await rest.run();
    const restReq = totalRequests(await counters(restSandbox));
    const rs = r.job.summary as { synced: number; examTakers: number };
    console.log(`(b) product, per-course REST        ${r.seconds.toFixed(1)} s  ${restReq} requests  ${rs.synced} courses, ${rs.examTakers} exam-takers`);
    restResync = await rest.run();
    console.log(`    re-sync, nothing changed        ${restResync.seconds.toFixed(1)} s  ${totalRequests(await counters(restSandbox)) - restReq} requests`);
    await rest.close();
    await restSandbox.stop();
  }

  const received: Array<{ at: number; type: string; courseId?: string; ok: boolean }> = [];
  let secret = '';
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let ok = false;
      try {
        new Webhook(secret).verify(body, req.headers as Record<string, string>);
        ok = true;
      } catch {
        ok = false;
      }
      const m = JSON.parse(body) as { type: string; data?: { courseCanvasId?: string } };
      received.push({ at: performance.now(), type: m.type, courseId: m.data?.courseCanvasId, ok });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const sandbox = await startSandbox();
  const bulk = await product(sandbox, { report: true, webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
  secret = bulk.secret;
  const baseRss = process.memoryUsage().rss;
  settle();
  const first = await bulk.run();
  const firstReq = totalRequests(await counters(sandbox));
  const bs = first.job.summary as { synced: number; examTakers: number; path: string };
  console.log(`(c) product, one provisioning report ${first.seconds.toFixed(1)} s  ${firstReq} requests  ${bs.synced} courses, ${bs.examTakers} exam-takers (path ${bs.path}); peak RSS ${mb(peakRss)}`);

  await bulk.drained();
  const before = await snapshot(bulk.store);
  const receivedBefore = received.length;
  settle();
  const again = await bulk.run();
  const againPeak = peakRss;
  await new Promise((r) => setTimeout(r, 1500));
  await bulk.drained();
  const after = await rowsWrittenSince(bulk.store);
  console.log(
    `    unchanged re-sync: ${again.seconds.toFixed(1)} s (peak RSS ${mb(againPeak)}); ${after.written} of ${after.count} roster/section/course rows written (inserted, changed or deleted), ${after.changes - before.changes} change entries, ${after.messages - before.messages} webhook messages queued, ${received.length - receivedBefore} delivered`,
  );
  const ratio = (x: number) => (x > 0 ? `${(x / again.seconds).toFixed(1)}×` : 'not run');
  console.log(`    re-sync ratios: naive/(c) ${ratio(naiveFull)}   REST re-sync/(c) ${ratio(restResync.seconds)}   (first syncs: naive/(c) ${(naiveFull / first.seconds).toFixed(1)}×)`);

  const [victim] = (await sandbox.ask<{ enrollments: Array<{ id: string; courseId: string; type: string; state: string }> }>({ type: 'enrollments' }, 'enrollments')).enrollments.filter((e) => e.type === 'StudentEnrollment' && e.state === 'active');
  await sandbox.ask({ type: 'control', name: 'dropEnrollment', args: { enrollmentId: victim!.id } }, 'controlled');
  const receivedBeforeDrop = received.length;
  const t0 = performance.now();
  settle();
  const changed = await bulk.run();
  const changedPeak = peakRss;
  const runEnd = performance.now();
  const isTheDrop = (m: (typeof received)[number]) => m.type === 'roster.changed' && m.courseId === victim!.courseId;
  while (!received.slice(receivedBeforeDrop).some(isTheDrop)) {
    if (performance.now() - runEnd > 10_000) throw new Error('no roster.changed webhook within 10 s of the run');
    await new Promise((r) => setTimeout(r, 5));
  }
  const msg = received.slice(receivedBeforeDrop).find(isTheDrop)!;
  const cs = changed.job.summary as { removed: number };
  console.log(
    `    one enrollment dropped at Canvas: run ${((runEnd - t0) / 1000).toFixed(1)} s (removed ${cs.removed}; peak RSS ${mb(changedPeak)}); roster.changed (signature ${msg.ok ? 'verified' : 'NOT verified'}) received ${((msg.at - runEnd) / 1000).toFixed(2)} s after the run ended (${((msg.at - t0) / 1000).toFixed(1)} s after it started)`,
  );
  await bulk.close();
  await sandbox.stop();
  receiver.close();
  clearInterval(sampler);
  console.log(`peak RSS of this process (the product) over the three report runs: ${mb(overallPeak)} (${mb(baseRss)} before the first)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
