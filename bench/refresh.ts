/**
 * `npm run bench:refresh -- [--courses 3000] [--latency 20] [--paths naive,rest,bulk] …`
 *
 * Starts the Canvas sandbox with N courses (1–3 sections each) in a child process (a real Canvas
 * is another machine) and, in this one process against identical worlds, runs (a) a naive client
 * as the FAQ's refresh behaves — sequential, per_page=10, then one sections request per course it
 * keeps — and (b) the product's course refresh on each path (REST, bulk provisioning report),
 * through the real job code and a SQLite store.
 * Prints wall time, requests, throttled responses, peak RSS, naive/product ratios, and the
 * throttle floor: the least time the sandbox's leaky bucket allows for the product's requests.
 * Not a test: the figures go in the README.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCanvasClient } from '../src/canvas/client.js';
import { createThrottleGovernor } from '../src/canvas/governor.js';
import { createInProcessRunner } from '../src/jobs/in-process-runner.js';
import { createJobRepository } from '../src/jobs/job-repository.js';
import type { Counters } from '../src/simulator/sandbox-state.js';
import { createCourseRefreshJob } from '../src/sync/course-refresh.js';
import { createCourseRepository } from '../src/sync/course-repository.js';
import { openBenchStore } from './bench-world.js';
import { forkBenchProcess } from './bench-process.js';
import type { SandboxProcessArgs } from './sandbox-process.js';

const { values: args } = parseArgs({
  options: {
    courses: { type: 'string', default: '3000' },
    latency: { type: 'string', default: '20' },
    paths: { type: 'string', default: 'naive,rest,bulk' },
    hwm: { type: 'string', default: '600' },
    outflow: { type: 'string', default: '10' },
    'up-front': { type: 'string', default: '50' },
    throttle: { type: 'string', default: 'on' },
    mode: { type: 'string', default: '403' },
    cost: { type: 'string' },
    'report-delay': { type: 'string', default: '2000' },
    'decrease-below': { type: 'string' },
  },
});

const N = Number(args.courses);
const LATENCY = Number(args.latency);
const THROTTLE = { enabled: args.throttle !== 'off', hwm: Number(args.hwm), outflow: Number(args.outflow), upFrontCost: Number(args['up-front']) };
const USER_AGENT = 'canvas-companion-bench/0.1';

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 25);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

/** A sandbox in a child process (see sandbox-process.ts), with a fresh copy of the world. */
interface SandboxHandle {
  url: string;
  token: string;
  courses: number;
  sections: number;
  /** The request counters, and the sandbox process's peak RSS so far. */
  counters(): Promise<{ counters: Counters; peakRssBytes: number }>;
  stop(): Promise<void>;
}

let worldShown = false;

async function startSandbox(): Promise<SandboxHandle> {
  const data: SandboxProcessArgs = {
    courses: N,
    options: {
      latencyMs: LATENCY,
      throttle: THROTTLE,
      rateLimitMode: args.mode === '429' ? '429' : '403',
      requestCost: args.cost !== undefined ? Number(args.cost) : undefined,
      reportDelayMs: Number(args['report-delay']),
    },
  };
  const { child, next } = forkBenchProcess(new URL('./sandbox-process.ts', import.meta.url), data);
  const ready = await next<{ url: string; token: string; courses: number; sections: number }>('ready');
  if (!worldShown) console.log(`world: ${ready.courses} courses, ${ready.sections} sections (the sandbox runs in a child process; peak RSS is this process's: the clients and the product)`);
  worldShown = true;
  return {
    ...ready,
    async counters() {
      const reply = next<{ counters: Counters; peakRssBytes: number }>('counters');
      child.send({ type: 'counters' });
      return reply;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

interface Result {
  name: string;
  seconds: number;
  requests: number;
  throttled: number;
  courses: number;
  sections: number;
  costSum: number;
  /** Peak RSS of this process during the run: the client under test (the sandbox is elsewhere). */
  peakRss: number;
  /** Peak RSS of the sandbox's process (Canvas's side; for reference). */
  sandboxRss: number;
  /** Mean time to response headers seen by the product's client (latency + sandbox + event-loop overhead). */
  meanRttMs: number;
}

const totalRequests = (c: Counters) => Object.values(c.requests).reduce((a, b) => a + b, 0);

/**
 * (a) The FAQ's refresh: one request at a time, default page size, then one sections call per
 * course it keeps (published, with an SIS id).
 */
async function runNaive(): Promise<Result> {
  const sandbox = await startSandbox();
  const { token } = sandbox;
  const headers = { Authorization: `Bearer ${token}`, 'User-Agent': USER_AGENT };
  const get = async (url: string): Promise<unknown[]> => {
    for (;;) {
      const res = await fetch(url, { headers });
      if (res.status === 403 || res.status === 429) {
        await res.text();
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      return (await res.json()) as unknown[];
    }
  };
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const ids: string[] = [];
  let courses = 0;
  for (let page = 1; ; page++) {
    const batch = (await get(`${sandbox.url}/api/v1/accounts/self/courses?page=${page}`)) as Array<{ id: number; workflow_state: string; sis_course_id: string | null }>;
    courses += batch.length;
    // Like the product, it keeps the published courses with an SIS id and asks only for their sections.
    ids.push(...batch.filter((c) => (c.workflow_state === 'available' || c.workflow_state === 'completed') && c.sis_course_id).map((c) => String(c.id)));
    if (batch.length < 10) break;
  }
  let sections = 0;
  for (const id of ids) {
    for (let page = 1; ; page++) {
      const batch = await get(`${sandbox.url}/api/v1/courses/${id}/sections?page=${page}`);
      sections += batch.length;
      if (batch.length < 10) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const { counters, peakRssBytes: sandboxRss } = await sandbox.counters();
  const r = { name: 'naive (sequential, per_page=10)', seconds, requests: totalRequests(counters), throttled: counters.throttled, courses, sections, costSum: 0, peakRss, sandboxRss, meanRttMs: 0 };
  await sandbox.stop();
  return r;
}

/** (b) The product's refresh job, on a forced path, through the runner and a SQLite store. */
async function runProduct(path: 'rest' | 'bulk'): Promise<Result> {
  const sandbox = await startSandbox();
  const { token } = sandbox;
  const { store, dir } = await openBenchStore(sandbox.url, 'cc-bench-');
  let costSum = 0;
  let rttSum = 0;
  let rttCount = 0;
  const costFetch: typeof fetch = async (input, init) => {
    const started = performance.now();
    const res = await fetch(input, init);
    rttSum += performance.now() - started;
    rttCount++;
    const c = Number(res.headers.get('x-request-cost'));
    if (Number.isFinite(c)) costSum += c;
    return res;
  };
  const repo = createJobRepository(store.db);
  const def = createCourseRefreshJob({
    courses: createCourseRepository(store.db),
    clientFor: (s) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: USER_AGENT, fetch: costFetch, governor: createThrottleGovernor(args['decrease-below'] !== undefined ? { decreaseBelow: Number(args['decrease-below']) } : {}) }),
    tokenSourceFor: () => ({ current: async () => token, refresh: async () => token }),
  });
  const runner = createInProcessRunner({ repo, definitions: [def], pollMs: 20 });
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  await runner.start();
  const job = await runner.enqueue('course_refresh', 'bench', { path });
  let end;
  for (;;) {
    end = (await repo.get(job.id))!;
    if (end.state !== 'queued' && end.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  await runner.stop();
  if (end.state !== 'succeeded') throw new Error(`product ${path} refresh ${end.state}: ${JSON.stringify(end.error)}`);
  const s = end.summary as { courses: number; sections: number };
  const { counters, peakRssBytes: sandboxRss } = await sandbox.counters();
  const r: Result = { name: `product ${path === 'rest' ? 'REST' : 'bulk (provisioning_csv)'}`, seconds, requests: totalRequests(counters), throttled: counters.throttled, courses: s.courses, sections: s.sections, costSum, peakRss, sandboxRss, meanRttMs: rttCount ? rttSum / rttCount : 0 };
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  await sandbox.stop();
  return r;
}

/**
 * The least time the sandbox's bucket allows for `requests` costing `costSum` in total (each at the
 * mean cost), found by running the best possible client in a fluid model: at every moment it has
 * as many requests in flight as the bucket admits — k with 50·k < the settled level, so at most
 * ceil(hwm/upFront) − 1 — each taking `latency`; the level leaks up at `outflow` units/s and drops
 * by each finished request's cost. Running more now never leaves less room later than the same
 * work done later would, so this greedy client is the fastest. With zero latency only the leak
 * bounds it: (Σcost − (hwm − upFront)) / outflow.
 */
function throttleFloor(requests: number, costSum: number): { seconds: number; meanInFlight: number } {
  const { hwm, outflow, upFrontCost } = THROTTLE;
  if (!THROTTLE.enabled || requests === 0) return { seconds: 0, meanInFlight: 0 };
  if (LATENCY <= 0) return { seconds: Math.max(0, (costSum - (hwm - upFrontCost)) / outflow), meanInFlight: 1 };
  const latency = LATENCY / 1000;
  const cost = costSum / requests;
  const maxK = Math.max(1, Math.ceil(hwm / upFrontCost) - 1);
  const dt = Math.min(0.001, latency / 10);
  let level = hwm;
  let done = 0;
  let t = 0;
  let inFlightTime = 0;
  while (done < requests) {
    const k = Math.max(0, Math.min(maxK, Math.ceil(level / upFrontCost) - 1));
    const finished = (k / latency) * dt;
    done += finished;
    level = Math.min(hwm, level + outflow * dt - cost * finished);
    inFlightTime += k * dt;
    t += dt;
  }
  return { seconds: t, meanInFlight: inFlightTime / t };
}

async function main() {
  const paths = String(args.paths).split(',');
  console.log(`bench:refresh  N=${N} courses, latency ${LATENCY} ms, throttle ${THROTTLE.enabled ? `hwm ${THROTTLE.hwm} / outflow ${THROTTLE.outflow}/s / up-front ${THROTTLE.upFrontCost} (${args.mode})` : 'off'}, cost ${args.cost ?? 'sandbox default (0.05–0.2 s by size)'}, report delay ${args['report-delay']} ms`);

  const results: Result[] = [];
  for (const p of paths) {
    const r = p === 'naive' ? await runNaive() : await runProduct(p === 'bulk' ? 'bulk' : 'rest');
    results.push(r);
    console.log(
      `${r.name.padEnd(34)} ${r.seconds.toFixed(2).padStart(8)} s  ${String(r.requests).padStart(7)} requests  ${String(r.throttled).padStart(5)} throttled  peak RSS ${mb(r.peakRss).padStart(7)} (sandbox process ${mb(r.sandboxRss)})  ${r.courses} courses / ${r.sections} sections`,
    );
    if (r.costSum > 0) {
      const f = throttleFloor(r.requests, r.costSum);
      console.log(
        `${''.padEnd(34)} throttle floor ${f.seconds.toFixed(2)} s (as many in flight as the bucket admits, ${f.meanInFlight.toFixed(1)} on average, for Σcost ${r.costSum.toFixed(1)}) → ${f.seconds > 0 ? (r.seconds / f.seconds).toFixed(2) : '–'}× the floor`,
      );
      console.log(`${''.padEnd(34)} mean round trip ${r.meanRttMs.toFixed(1)} ms (sandbox latency ${LATENCY} ms)`);
    }
  }
  const naive = results.find((r) => r.name.startsWith('naive'));
  if (naive) {
    for (const r of results.filter((x) => x !== naive)) {
      const same = r.courses === naive.courses && r.sections === naive.sections ? 'same courses and sections' : `MISMATCH (naive ${naive.courses}/${naive.sections})`;
      console.log(`ratio naive/${r.name}: ${(naive.seconds / r.seconds).toFixed(1)}×  (${same})`);
    }
  }
  clearInterval(sampler);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
