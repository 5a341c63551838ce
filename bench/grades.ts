/**
 * `npm run bench:grades -- [--students 1000] [--latency 20] [--throttle on|off]`
 *
 * One course with N students in a Canvas sandbox child process (default throttle, 20 ms latency):
 * (a) the product's grade post (the real grade_post job on a SQLite store: find/create the
 * assignment, read the scores back, update_grades in batches, follow each Progress, read back);
 * (b) the same post again (must write nothing); (c) one request per student on a fresh sandbox:
 * N sequential update_grades requests of one student each, without even waiting for their
 * Progress (the most favourable case for per-student posting; its Progresses are finished by the
 * sandbox afterwards, uncounted). Prints write requests, wall times and the ratio.
 * Not a test: the figures go in the README.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCanvasClient } from '../src/canvas/client.js';
import { createThrottleGovernor } from '../src/canvas/governor.js';
import { createGradePostJob } from '../src/grades/grade-post.js';
import { createGradeRepository } from '../src/grades/grade-repository.js';
import { createInProcessRunner } from '../src/jobs/in-process-runner.js';
import { createJobRepository } from '../src/jobs/job-repository.js';
import type { GradePostParams } from '../src/jobs/job-kinds.js';
import type { Counters } from '../src/simulator/sandbox-state.js';
import { migrateToLatest, openStore, type Store } from '../src/store/database.js';
import { createCourseRepository } from '../src/sync/course-repository.js';
import { createRosterSync } from '../src/sync/roster-sync.js';
import { forkBenchProcess } from './bench-process.js';
import type { GradesSandboxArgs } from './grades-sandbox-process.js';
import { quantity } from '../src/text/quantity.js';

const { values: args } = parseArgs({
  options: {
    students: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '20' },
    throttle: { type: 'string', default: 'on' },
  },
});
const N = Number(args.students);
const LATENCY = Number(args.latency);
const COURSE = '500';
const USER_AGENT = 'canvas-companion-bench/0.1';

interface Sandbox {
  url: string;
  token: string;
  counters(): Promise<Counters>;
  runJobs(): Promise<number>;
  stop(): Promise<void>;
}

async function startSandbox(): Promise<Sandbox> {
  const data: GradesSandboxArgs = { students: N, options: { latencyMs: LATENCY, ...(args.throttle === 'off' ? { throttle: { enabled: false } } : {}) } };
  const { child, next } = forkBenchProcess(new URL('./grades-sandbox-process.ts', import.meta.url), data);
  const ready = await next<{ url: string; token: string }>('ready');
  return {
    ...ready,
    async counters() {
      const r = next<{ counters: Counters }>('counters');
      child.send({ type: 'counters' });
      return (await r).counters;
    },
    async runJobs() {
      const r = next<{ n: number }>('ran');
      child.send({ type: 'runJobs' });
      return (await r).n;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

const scores: GradePostParams['scores'] = Array.from({ length: N }, (_, i) => ({ userExternalId: `S${i + 1}`, score: (i * 7) % 101 }));
const exam = { key: 'bench-final', title: 'Bench final', pointsPossible: 100, published: true };

/** The product: roster sync (not timed), then the grade_post job twice, each timed. */
async function runProduct(): Promise<{ first: { s: number; writes: number; requests: number }; again: { s: number; writes: number; requests: number } }> {
  const sandbox = await startSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-grades-'));
  const store: Store = openStore({ kind: 'sqlite', file: join(dir, 'bench.sqlite') });
  try {
    await migrateToLatest(store.db);
    const t = new Date().toISOString();
    await store.db
      .insertInto('integrations')
      .values({
        id: 'bench', name: 'Bench', canvas_url: sandbox.url, client_id: '10000000000078', client_secret_enc: null, account_id: 'self',
        course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '["StudentEnrollment"]', features: '["roster_sync","grade_passback"]',
        lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: '1', token_owner_name: 'Bench Admin',
        verified_at: t, checked_at: t, created_at: t, updated_at: t,
      })
      .execute();
    const governor = createThrottleGovernor();
    const courses = createCourseRepository(store.db);
    const auth = { current: async () => sandbox.token, refresh: async () => sandbox.token };
    const clientFor = (s: { canvasUrl: string }) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: USER_AGENT, governor });
    await createRosterSync({ courses, clientFor, tokenSourceFor: () => auth })('bench', COURSE);
    const job = createGradePostJob({ grades: createGradeRepository(store.db), courses, clientFor, tokenSourceFor: () => auth });
    const repo = createJobRepository(store.db);
    const runner = createInProcessRunner({ repo, definitions: [job], pollMs: 5, leaseMs: 30_000 });
    await runner.start();
    const once = async () => {
      const before = await sandbox.counters();
      const started = performance.now();
      const j = await runner.enqueue('grade_post', 'bench', { courseId: COURSE, exam, scores });
      for (;;) {
        const now = (await repo.get(j.id))!;
        if (now.state === 'succeeded') break;
        if (now.state === 'failed' || now.state === 'cancelled') throw new Error(`grade_post ${now.state}: ${JSON.stringify(now.error)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const s = (performance.now() - started) / 1000;
      const after = await sandbox.counters();
      const requests = Object.values(after.requests).reduce((a, b) => a + b, 0) - Object.values(before.requests).reduce((a, b) => a + b, 0);
      return { s, writes: after.writes.updateGrades - before.writes.updateGrades, requests };
    };
    const first = await once();
    const again = await once();
    await runner.stop();
    return { first, again };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    await sandbox.stop();
  }
}

/** One update_grades request per student, sequential, on a fresh sandbox (the assignment made first, not timed). */
async function runPerStudent(): Promise<{ s: number; writes: number; throttled: number }> {
  const sandbox = await startSandbox();
  try {
    const headers = { Authorization: `Bearer ${sandbox.token}`, 'User-Agent': USER_AGENT, 'Content-Type': 'application/x-www-form-urlencoded' };
    const created = await fetch(`${sandbox.url}/api/v1/courses/${COURSE}/assignments`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ 'assignment[name]': exam.title, 'assignment[points_possible]': '100', 'assignment[published]': 'true', 'assignment[integration_id]': exam.key }),
    });
    const assignment = (await created.json()) as { id: number };
    const started = performance.now();
    let throttled = 0;
    for (let i = 0; i < N; i++) {
      for (;;) {
        const res = await fetch(`${sandbox.url}/api/v1/courses/${COURSE}/assignments/${assignment.id}/submissions/update_grades`, {
          method: 'POST',
          headers,
          body: new URLSearchParams({ [`grade_data[sis_user_id:S${i + 1}][posted_grade]`]: String(scores[i]!.score) }),
        });
        await res.arrayBuffer();
        if (res.status === 403 || res.status === 429) {
          throttled++;
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        break;
      }
    }
    const s = (performance.now() - started) / 1000;
    await sandbox.runJobs();
    const c = await sandbox.counters();
    return { s, writes: c.writes.updateGrades, throttled };
  } finally {
    await sandbox.stop();
  }
}

console.log(`grade passback: ${N} scores in one course, sandbox latency ${LATENCY} ms, throttle ${args.throttle === 'off' ? 'off' : 'default'}`);
const product = await runProduct();
console.log(`product post:      ${product.first.s.toFixed(2)} s, ${quantity(product.first.writes, 'write request')} (update_grades), ${product.first.requests} requests in all`);
console.log(`repeat post:       ${product.again.s.toFixed(2)} s, ${quantity(product.again.writes, 'write request')}, ${product.again.requests} requests in all`);
const naive = await runPerStudent();
console.log(`one per student:   ${naive.s.toFixed(2)} s, ${quantity(naive.writes, 'write request')}${naive.throttled ? ` (${naive.throttled} throttled answers)` : ''}, Progress not even awaited`);
console.log(`ratio:             ${(naive.s / product.first.s).toFixed(1)}× faster, ${(naive.writes / Math.max(1, product.first.writes)).toFixed(0)}× fewer writes`);

// The issue's targets, each said met or not.
const ratio = naive.s / product.first.s;
const targets = [
  { what: `at most 5 write requests for ${N} scores`, met: product.first.writes <= 5, got: `${product.first.writes}` },
  { what: 'at least 20x faster than one request per student', met: ratio >= 20, got: `${ratio.toFixed(1)}x` },
  { what: '0 write requests when the same scores are posted again', met: product.again.writes === 0, got: `${product.again.writes}` },
];
for (const t of targets) console.log(`target ${t.met ? 'met    ' : 'NOT MET'} ${t.what} (${t.got})`);
if (targets.some((t) => !t.met)) process.exitCode = 1;
