import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { parseScoresCsv } from '../../src/grades/scores-csv.js';
import { captureIO } from '../support/cli-io.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

describe('CLI: grades post (CSV with a preview) and grades show (sqlite)', () => {
  let h: Harness;
  let id: string;
  let file: string;
  const run = (argv: string[], io = captureIO()) => runCli(argv, {}, io, async () => ({ ...h.c, close: async () => undefined }) as Container).then((code) => ({ code, io }));
  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 12 });
    id = await h.createIntegration({ features: ['course_refresh', 'roster_sync', 'grade_passback'] });
    await h.authorize(id);
    expect((await run(['sync', id, '1001'])).code).toBe(0);
    const takers = (await h.c.sync.courses.getRoster(id, '1001')).filter((p) => p.examTaker).map((p) => p.externalId!);
    file = join(mkdtempSync(join(tmpdir(), 'cc-grades-')), 'scores.csv');
    writeFileSync(file, `user_id,score,comment\n${takers[0]},88,"Good, solid work"\n${takers[1]},72.5\nNOBODY,50\n${takers[2]},n/a\n`);
  });
  afterAll(async () => {
    await h.close();
  });

  const args = () => ['grades', 'post', '--integration', id, '--course', '1001', '--exam-key', 'quiz-7', '--title', 'Quiz 7', '--points', '100', file];

  it('--dry-run prints the preview and writes nothing', async () => {
    const before = h.sandbox.control.counters().writes;
    const r = await run([...args(), '--dry-run']);
    expect(r.code).toBe(0);
    const out = r.io.stdout.join('\n');
    expect(out).toContain('Preview of 4 scores');
    expect(out).toMatch(/2 posted, 1 unknown_user, 1 invalid_score/);
    expect(out).toContain('NOBODY: unknown_user');
    expect(h.sandbox.control.counters().writes).toEqual(before);
  });

  it('posts after the preview, then a second post writes nothing; grades show reads the last post', async () => {
    const r = await run(args());
    expect(r.code).toBe(0);
    expect(r.io.stdout.join('\n')).toMatch(/grade_post .*: succeeded/);
    expect(h.sandbox.control.counters().writes.updateGrades).toBe(1);
    const comment = h.sandbox.state.world.submissions!.flatMap((s) => s.comments).map((c) => c.comment);
    expect(comment).toContain('Good, solid work');
    const again = await run(args());
    expect(again.code).toBe(0);
    expect(h.sandbox.control.counters().writes.updateGrades).toBe(1);
    const show = await run(['grades', 'show', '--integration', id, '--course', '1001', '--exam-key', 'quiz-7']);
    expect(show.io.stdout.join('\n')).toMatch(/Quiz 7 \(quiz-7, 100 points\): succeeded/);
    expect(show.io.stdout.join('\n')).toMatch(/2 unchanged/);
  });

  it('parses quoted commas, CRLF, a BOM and keeps a non-numeric score for invalid_score; refuses a row without a score', () => {
    expect(parseScoresCsv('\uFEFFuser_id,score\r\nA,1\r\n"B ""x""",2.5,"a, b"\r\nC,abc\r\n')).toEqual([
      { userExternalId: 'A', score: 1 },
      { userExternalId: 'B "x"', score: 2.5, comment: 'a, b' },
      { userExternalId: 'C', score: 'abc' },
    ]);
    expect(() => parseScoresCsv('A,1\nB\n')).toThrow(/line 2/);
  });

  it('reports the file line of a bad row, blank lines and quoted line breaks counted', () => {
    expect(() => parseScoresCsv('user_id,score\n\nA,1\n\nB\n')).toThrow(/^line 5: /);
    expect(() => parseScoresCsv('A,1,"two\nlines"\r\n\r\nB\r\n')).toThrow(/^line 4: /);
  });

  it('grades post applies the same exam checks as the API: a key with spaces or a long title is refused, nothing is sent', async () => {
    const before = h.sandbox.control.counters().writes;
    const spaced = await run(['grades', 'post', '--integration', id, '--course', '1001', '--exam-key', 'quiz 8', '--title', 'Quiz 8', '--points', '10', file]);
    expect(spaced.code).not.toBe(0);
    expect(spaced.io.stderr.join('\n')).toContain("exam.key: no spaces (it becomes the assignment's integration_id in Canvas)");
    const long = await run(['grades', 'post', '--integration', id, '--course', '1001', '--exam-key', 'quiz-8', '--title', 'T'.repeat(256), '--points', '10', file]);
    expect(long.code).not.toBe(0);
    expect(long.io.stderr.join('\n')).toContain('exam.title: at most 255 characters');
    expect(h.sandbox.control.counters().writes).toEqual(before);
  });

  it('integrations create --features and integrations features set the features; scopes --help lists grade_passback', async () => {
    const created = await run(['integrations', 'create', '--name', 'CLI U', '--canvas-url', h.sandbox.url, '--client-id', '10000000000001', '--features', 'roster_sync,grade_passback', '--json']);
    expect(created.code).toBe(0);
    const newId = JSON.parse(created.io.stdout[0]!).id as string;
    expect((await h.c.integrations.get(newId))!.features).toEqual(['roster_sync', 'grade_passback']);
    const bad = await run(['integrations', 'create', '--name', 'CLI V', '--canvas-url', h.sandbox.url, '--client-id', '10000000000001', '--features', 'gradebook']);
    expect(bad.code).not.toBe(0);
    expect(bad.io.stderr.join('\n')).toContain('features');

    // The connected integration: turning the feature off re-runs the checks (this sandbox key grants every scope).
    const off = await run(['integrations', 'features', id, 'course_refresh,roster_sync']);
    expect(off.code).toBe(0);
    expect(off.io.stdout.join('\n')).toContain(`Features of ${id}: course_refresh, roster_sync.`);
    expect(off.io.stdout.join('\n')).toContain('state: verified');
    expect((await h.c.integrations.get(id))!.features).toEqual(['course_refresh', 'roster_sync']);
    expect((await run(['integrations', 'features', id, 'course_refresh,roster_sync,grade_passback'])).code).toBe(0);
    expect((await h.c.integrations.get(id))!.features).toContain('grade_passback');

    const help = await run(['integrations', 'scopes', '--help']);
    expect(help.io.stdout.join('\n')).toContain('grade_passback');
  });
});
