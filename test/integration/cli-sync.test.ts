import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { captureIO } from '../support/cli-io.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

describe('CLI: refresh, lookup, sync, why-missing, jobs (sqlite)', () => {
  let h: Harness;
  let id: string;
  // The harness owns the container: the CLI must not close it between commands.
  const run = (argv: string[], io = captureIO()) => runCli(argv, {}, io, async () => ({ ...h.c, close: async () => undefined }) as Container).then((code) => ({ code, io }));
  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 20 });
    id = await h.createIntegration();
    await h.authorize(id);
  });
  afterAll(async () => {
    await h.close();
  });

  it('refresh runs the job here, draws progress lines and prints the summary', async () => {
    const { code, io } = await run(['refresh', id]);
    expect(code).toBe(0);
    expect(io.stdout[0]).toMatch(/course_refresh .*: succeeded/);
    expect(io.stdout[0]).toMatch(/: succeeded — 2\d courses, \d+ sections of syncable courses \((provisioning report|REST API)\)$/);
    // Labelled lines in the pages' words and units (describeProgress), never a bare count.
    expect(io.stderr.length).toBeGreaterThan(1);
    for (const l of io.stderr) expect(l).toMatch(/^\[[#~-]+\] [A-Z][a-z]+\b/);
    expect(io.stderr.at(-1)).toBe(`[${'#'.repeat(30)}] Finished`);
  });

  it('lookup explains an unpublished course; why-missing answers from the last refresh', async () => {
    const l = await run(['lookup', id, '1002']);
    expect(l.code).toBe(0);
    expect(l.io.stdout.join('\n')).toContain('NOT syncable');
    expect(l.io.stdout.join('\n')).toContain('unpublished');
    const w = await run(['why-missing', id, '1004', '--json']);
    expect(JSON.parse(w.io.stdout.join('\n'))).toMatchObject({ verdict: 'not_syncable', reasons: [expect.objectContaining({ code: 'missing_course_id' })] });
    const missing = await run(['lookup', id, '987654']);
    expect(missing.code).toBe(1);
  });

  it('sync --preview saves nothing; sync runs the job; why-not-exam-taker explains a skipped person', async () => {
    const p = await run(['sync', id, '1001', '--preview']);
    expect(p.code).toBe(0);
    expect(p.io.stdout[0]).toMatch(/course 1001: \d+ exam-takers, \d+ skipped \(preview/);
    expect(await h.c.sync.courses.getRoster(id, '1001')).toEqual([]);
    const s = await run(['sync', id, '1001']);
    expect(s.code).toBe(0);
    const skipped = (await h.c.sync.courses.getRoster(id, '1001')).find((r) => !r.examTaker)!;
    const why = await run(['why-not-exam-taker', id, '1001', skipped.canvasUserId]);
    expect(why.io.stdout.join('\n')).toContain(skipped.reasons[0]!);
    const jobs = await run(['jobs', 'list', '--integration', id]);
    expect(jobs.io.stdout.some((l) => l.includes('course_sync') && l.includes('succeeded'))).toBe(true);
  });

  it('sync-all first says how many courses and the line that syncs them; a stale count starts nothing', async () => {
    const n = (await h.c.sync.courses.countsFor(id)).syncable;
    const jobsBefore = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length;
    const ask = await run(['sync-all', id]);
    expect(ask.code).toBe(0);
    expect(ask.io.stdout).toEqual([`${n} courses are syncable. To sync all of them: npm run cli -- sync-all ${id} --expected ${n}`]);
    const stale = await run(['sync-all', id, '--expected', String(n + 1)]);
    expect(stale.code).not.toBe(0);
    expect(stale.io.stderr.join('\n')).toContain(`--expected ${n}`);
    expect((await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length).toBe(jobsBefore);
    const go = await run(['sync-all', id, '--expected', String(n)]);
    expect(go.code).toBe(0);
    const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 1 }))[0]!;
    expect((job.params.courseIds as string[]).length).toBe(n);
    expect(job.state).toBe('succeeded');
  });
});
