import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { GradePostCheckpoint } from '../../../src/grades/grade-post.js';
import { createGradeRepository } from '../../../src/grades/grade-repository.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import { testDatabases } from '../../support/databases.js';
import { buildSyncWorld, useSyncHarnesses } from '../../support/sync-world.js';

const WORKER = join(import.meta.dirname, '..', '..', 'support', 'grade-post-worker.ts');
/** Heartbeats come every lease/3; a lease that lapsed under a starved child would let the job run twice at once. */
const LEASE_MS = 4000;

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

const exited = (p: ChildProcess) => new Promise<number | null>((resolve) => (p.exitCode !== null || p.signalCode ? resolve(p.exitCode) : p.once('exit', (code) => resolve(code))));

describe('a grade post killed with SIGKILL while Canvas grades resumes in a new process without posting twice (sqlite)', () => {
  const ctx = useSyncHarnesses(() => testDatabases()[0].open());
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && !c.signalCode) c.kill('SIGKILL');
  });

  it('follows the checkpointed Progress and sends no second update_grades', async () => {
    // Canvas's bulk job finishes only after several polls: the kill lands while it is followed.
    const h = await ctx.harness(buildSyncWorld(), { progressPolls: 8 });
    await ctx.store.db.updateTable('integrations').set({ features: '["roster_sync","grade_passback"]' }).where('id', '=', h.integrationId).execute();
    await createRosterSync(h.deps)(h.integrationId, '101');
    const repo = createJobRepository(ctx.store.db);
    const exam = { key: 'killed-exam', title: 'Killed exam', pointsPossible: 10, published: true };
    const job = await repo.create('grade_post', h.integrationId, { courseId: '101', exam, scores: [{ userExternalId: 'S1', score: 7 }, { userExternalId: 'S8', score: 9 }] });
    const dbFile = (ctx.store as unknown as { config: { file: string } }).config.file;

    const first = startWorker(dbFile, await h.auth.current());
    children.push(first);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = await repo.getRow(job.id);
      const cp = row?.checkpoint ? (JSON.parse(row.checkpoint) as GradePostCheckpoint) : null;
      if (cp?.batches?.[0]?.progressId && !cp.batches[0].state) break;
      if (row?.state === 'succeeded' || Date.now() > deadline) throw new Error(`the worker did not reach the Progress in time (${row?.state}) ${first.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await exited(first);
    expect((await repo.getRow(job.id))!.state).toBe('running');
    expect(h.sandbox.control.counters().writes.updateGrades).toBe(1);

    const second = startWorker(dbFile, await h.auth.current());
    children.push(second);
    expect(await exited(second)).toBe(0);
    const end = (await repo.get(job.id))!;
    expect(end.state).toBe('succeeded');
    expect(end.attempts).toBe(2);
    expect(end.summary).toMatchObject({ posted: 2, resumed: true, writeRequests: 1, failed: 0 });
    const w = h.sandbox.control.counters().writes;
    expect(w.updateGrades).toBe(1);
    expect(w.gradesStored).toBe(2);
    expect(w.assignmentsCreated).toBe(1);
    const rec = await createGradeRepository(ctx.store.db).get(h.integrationId, '101', exam.key);
    expect(rec!.outcomes.map((o) => o.outcome)).toEqual(['posted', 'posted']);
  }, 120_000);
});
