import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import type { Store } from '../../../src/store/database.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, startSyncHarness, type SyncHarness } from '../../support/sync-world.js';

const WORKER = join(import.meta.dirname, '..', '..', 'support', 'refresh-worker.ts');
const COURSES_ROUTE = 'GET /api/v1/accounts/:account_id/courses';

/**
 * The lease must outlast the worst event-loop stall of a starved child on a loaded CI machine:
 * heartbeats come every lease/3, and a lease that lapses while its owner still runs the job lets
 * the job be claimed a second time (attempts would then be 3, not 2).
 */
const LEASE_MS = 4000;

/** A worker process; its output is drained (a full pipe would block it) and kept for failure messages. */
function startWorker(dbFile: string, token: string): ChildProcess & { output(): string } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, NODE_OPTIONS: '', CC_DB_FILE: dbFile, CC_ACCESS_TOKEN: token, CC_LEASE_MS: String(LEASE_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  return Object.assign(child, { output: () => output });
}

/** Every API request the sandbox has answered (both workers). */
const totalRequests = (h: SyncHarness) => Object.values(h.sandbox.control.counters().requests).reduce((n, x) => n + x, 0);

const exited = (p: ChildProcess) => new Promise<number | null>((resolve) => (p.exitCode !== null || p.signalCode ? resolve(p.exitCode) : p.once('exit', (code) => resolve(code))));

/** Exit code of a worker that must finish on its own, or a failure naming its output. */
async function exitedWithin(p: ChildProcess & { output(): string }, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`worker still running after ${ms} ms: ${p.output()}`)), ms);
  });
  try {
    return await Promise.race([exited(p), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a refresh killed with SIGKILL resumes from its checkpoint in a new process (sqlite)', () => {
  let store: Store & { config: { kind: string; file?: string } };
  const harnesses: SyncHarness[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    store = await testDatabases()[0]!.open();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && !c.signalCode) c.kill('SIGKILL');
    for (const h of harnesses) await h.close();
    await store.close();
  });

  // Sections are fetched while the course list is still being read, so a kill can land in either phase.
  it.each([
    ['after the course list, mid-sections', 'sections', 250],
    ['mid course list, with sections already saved', 'courses', 2500],
  ] as const)('killed %s: ends with exactly the result of an uninterrupted run, without re-reading the course list', async (_when, phase, fillers) => {
    const world = buildSyncWorld({ fillers });
    const h = await startSyncHarness(store, world, { latencyMs: 25 });
    const reference = await startSyncHarness(store, world);
    harnesses.push(h, reference);
    const dbFile = (store.config as { file: string }).file;
    const repo = createJobRepository(store.db);
    const job = await repo.create('course_refresh', h.integrationId, { path: 'rest' });
    const sectionsSaved = async () =>
      Number((await store.db.selectFrom('sections').select((eb) => eb.fn.countAll().as('n')).where('refresh_job_id', '=', job.id).executeTakeFirst())?.n ?? 0);

    const first = startWorker(dbFile, await h.auth.current());
    children.push(first);
    const deadline = Date.now() + 60_000;
    let killedCheckpoint: { phase?: string; nextPage?: number } | null = null;
    let slowed = false;
    for (;;) {
      const row = await repo.getRow(job.id);
      const cp = row?.checkpoint ? JSON.parse(row.checkpoint) : null;
      if (phase === 'courses' && !slowed && cp?.phase === 'courses' && cp.nextPage > 1) {
        // Three 503s on the course list hold the listing back (retries with backoff) while sections get saved.
        h.sandbox.control.injectFault({ path: '/api/v1/accounts/[^/]+/courses$', kind: '503', count: 3 });
        slowed = true;
      }
      if (cp?.phase === phase && (phase === 'courses' ? cp.nextPage > 1 : true) && (await sectionsSaved()) > 20) {
        killedCheckpoint = cp;
        break;
      }
      if (row?.state === 'succeeded' || Date.now() > deadline) throw new Error(`worker did not reach the ${phase} phase in time (${row?.state}) ${first.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await exited(first);
    const killedAt = await repo.getRow(job.id);
    expect(killedAt!.state).toBe('running');
    expect(killedCheckpoint?.phase).toBe(phase);
    const courseListRequests = h.sandbox.control.counters().requests[COURSES_ROUTE] ?? 0;
    expect(courseListRequests).toBeGreaterThan(0);
    const requestsAtKill = totalRequests(h);
    // The first attempt's cost as of its last checkpoint travels with the checkpoint.
    const firstSpent = (JSON.parse(killedAt!.checkpoint!) as { spent?: { requests: number; durationMs: number } }).spent;

    const second = startWorker(dbFile, await h.auth.current());
    children.push(second);
    expect(await exitedWithin(second, 60_000)).toBe(0);
    const end = (await repo.get(job.id))!;
    expect(end.state).toBe('succeeded');
    expect(end.attempts).toBe(2);
    expect(end.summary).toMatchObject({ resumed: true, courses: fillers + 7 });
    // The summary counts both attempts: the first one's checkpointed cost plus every request of the second.
    const secondAttemptRequests = totalRequests(h) - requestsAtKill;
    expect(end.summary!.requests).toBeGreaterThan(secondAttemptRequests);
    expect(firstSpent?.requests).toBeGreaterThan(0);
    expect(end.summary!.requests).toBe(firstSpent!.requests + secondAttemptRequests);
    expect(Number(end.summary!.durationMs)).toBeGreaterThan(firstSpent!.durationMs);
    const pages = Math.ceil((fillers + 7) / 100);
    if (phase === 'sections') expect(h.sandbox.control.counters().requests[COURSES_ROUTE]).toBe(courseListRequests);
    // Killed mid-list: only the pages from the checkpoint on are read again (a window of at most 8
    // was in flight), plus the three answered with a 503.
    else expect(h.sandbox.control.counters().requests[COURSES_ROUTE]).toBeLessThanOrEqual(pages + 8 + 3);

    // The reference run gets the time a loaded CI machine needs for 2,500 courses (runJob's default is 30 s).
    const ref = await runJob(store, createCourseRefreshJob(reference.deps), reference.integrationId, { path: 'rest' }, 120_000);
    expect(ref.state).toBe('succeeded');
    const strip = async (integrationId: string) =>
      store.db
        .selectFrom('sections')
        .select(['canvas_id', 'course_canvas_id', 'name', 'external_id', 'syncable', 'reasons'])
        .where('integration_id', '=', integrationId)
        .orderBy('canvas_id')
        .execute();
    const courses = async (integrationId: string) =>
      (await store.db.selectFrom('courses').select(['canvas_id', 'external_id', 'syncable', 'reasons', 'workflow_state']).where('integration_id', '=', integrationId).orderBy('canvas_id').execute());
    expect(await courses(h.integrationId)).toEqual(await courses(reference.integrationId));
    expect(await strip(h.integrationId)).toEqual(await strip(reference.integrationId));
    expect(end.summary).toMatchObject({ sections: ref.summary!.sections, syncable: ref.summary!.syncable });
  }, 180_000);
});
