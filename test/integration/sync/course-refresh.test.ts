import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { createCanvasClient } from '../../../src/canvas/client.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import type { CourseView, SectionView } from '../../../src/sync/course-repository.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses, type SyncHarness } from '../../support/sync-world.js';

const SECTIONS_ROUTE = 'GET /api/v1/courses/:course_id/sections';

async function snapshot(h: SyncHarness): Promise<Array<Omit<CourseView, 'refreshedAt' | 'lastSyncedAt'> & { sections: SectionView[] }>> {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await h.deps.courses.listCourses(h.integrationId, { cursor, limit: 50 });
    for (const c of page.courses) {
      const { refreshedAt: _r, lastSyncedAt: _l, ...rest } = c;
      out.push({ ...rest, sections: await h.deps.courses.getSections(h.integrationId, c.canvasId) });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('course refresh against the sandbox (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());
  const harness = ctx.harness;

  it('REST path records every course with syncable and the course reasons, and sections with missing_section_id', async () => {
    const h = await harness(buildSyncWorld({ fillers: 130 }));
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' });
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ path: 'rest', courses: 137, syncable: 134, removed: 0 });
    const get = (id: string) => h.deps.courses.getCourse(h.integrationId, id);
    expect(await get('101')).toMatchObject({ syncable: true, reasons: [], externalId: 'SIS-101', published: true });
    expect(await get('102')).toMatchObject({ syncable: false, reasons: ['unpublished'], published: false });
    expect(await get('103')).toMatchObject({ syncable: false, reasons: ['missing_course_id'], externalId: null });
    expect(await get('104')).toMatchObject({ syncable: false, reasons: ['deleted'] });
    expect(await get('105')).toMatchObject({ syncable: true, workflowState: 'completed' });
    expect(await get('107')).toMatchObject({ syncable: true, accountId: '2' });
    const s106 = await h.deps.courses.getSections(h.integrationId, '106');
    expect(s106.map((s) => [s.canvasId, s.syncable, s.reasons])).toEqual([
      ['1061', true, []],
      ['1062', false, ['missing_section_id']],
    ]);
    expect(await h.deps.courses.getSections(h.integrationId, '1002')).toHaveLength(3);
    // Sections are asked for only for the 134 syncable courses: unpublished, no SIS id and deleted get none.
    for (const id of ['102', '103', '104']) expect(await h.deps.courses.getSections(h.integrationId, id)).toEqual([]);
    expect(h.sandbox.control.counters().requests[SECTIONS_ROUTE]).toBe(134);
  });

  it.each(['rest', 'bulk'] as const)('a later %s refresh drops a section deleted in Canvas and the sections of a course unpublished since', async (path) => {
    const h = await harness(buildSyncWorld({ fillers: 10 }));
    const world = h.sandbox.world;
    expect((await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path })).state).toBe('succeeded');
    expect(await h.deps.courses.getSections(h.integrationId, '101')).toHaveLength(2);
    expect(await h.deps.courses.getSections(h.integrationId, '106')).toHaveLength(2);
    world.sections.find((s) => s.id === '1012')!.deleted = true;
    world.courses.find((c) => c.id === '106')!.workflowState = 'created';
    const again = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path });
    expect(again.state).toBe('succeeded');
    expect((await h.deps.courses.getSections(h.integrationId, '101')).map((s) => s.canvasId)).toEqual(['1011']);
    expect(await h.deps.courses.getCourse(h.integrationId, '106')).toMatchObject({ syncable: false, reasons: ['unpublished'] });
    expect(await h.deps.courses.getSections(h.integrationId, '106')).toEqual([]);
    expect(again.summary).toMatchObject({ courses: 17, syncable: 13 });
  });

  it('keeps the sections a roster sync wrote while the refresh was running', async () => {
    const h = await harness(buildSyncWorld({ fillers: 10 }));
    const replace = h.deps.courses.replaceSections;
    let synced = false;
    h.deps.courses.replaceSections = async (integrationId, courseIds, rows, asOf) => {
      await replace(integrationId, courseIds, rows, asOf);
      if (!synced && courseIds.includes('101')) {
        synced = true;
        // What roster sync (or a specific course refresh) writes: rows not tied to a refresh.
        const fromSync = rows.filter((r) => r.course_canvas_id === '101').map((r) => ({ ...r, name: `${r.name} (from sync)`, refresh_job_id: null }));
        await replace(integrationId, ['101'], fromSync, asOf);
      }
    };
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' });
    expect(job.state).toBe('succeeded');
    expect(synced).toBe(true);
    expect((await h.deps.courses.getSections(h.integrationId, '101')).map((s) => s.name)).toEqual(['Section 1011 (from sync)', 'Section 1012 (from sync)']);
  });

  it('bulk path as hosted Canvas answers today: polls through compiling, downloads file_url with the token, completes', async () => {
    const h = await harness(buildSyncWorld({ fillers: 10 }), { reportDelayMs: 800 });
    const statuses: string[] = [];
    const downloads: Array<{ url: string; authorization: string | null }> = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (/\/reports\/provisioning_csv\/\d+$/.test(new URL(url).pathname)) statuses.push(String(((await res.clone().json()) as { status?: unknown }).status));
      if (/\/files\/\d+\/download/.test(url)) downloads.push({ url, authorization: new Headers(init?.headers as HeadersInit).get('authorization') });
      return res;
    };
    const deps = { ...h.deps, clientFor: (s: { canvasUrl: string }) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: 'canvas-companion-test', fetch: recording }) };
    const job = await runJob(ctx.store, createCourseRefreshJob(deps), h.integrationId, { path: 'bulk' });
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ path: 'bulk' });
    expect(statuses).toContain('compiling');
    expect(statuses.at(-1)).toBe('complete');
    expect(downloads[0]!.url).toMatch(new RegExp(`^${h.sandbox.url}/accounts/\\d+/files/\\d+/download`));
    expect(downloads[0]!.authorization).toBe(`Bearer ${await h.auth.current()}`);
    expect(downloads[0]!.url).not.toContain('verifier=');
  });

  it('refuses a report file Canvas names on a host that is not the institution\'s Canvas: the job fails saying so, the host gets nothing', async () => {
    const h = await harness(buildSyncWorld({ fillers: 3 }));
    const seen: string[] = [];
    const other = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('zip');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const foreign = `http://localhost:${(other.address() as AddressInfo).port}`;
    try {
      // Plays a report whose file_url points elsewhere (the sandbox names its own origin).
      const rewriting: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        const url = input instanceof Request ? input.url : String(input);
        if (!/\/reports\/provisioning_csv\/\d+$/.test(new URL(url).pathname)) return res;
        const body = (await res.json()) as Record<string, unknown>;
        if (typeof body.file_url === 'string') body.file_url = body.file_url.replace(h.sandbox.url, foreign);
        return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
      };
      const deps = { ...h.deps, clientFor: (s: { canvasUrl: string }) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: 'canvas-companion-test', fetch: rewriting }) };
      const job = await runJob(ctx.store, createCourseRefreshJob(deps), h.integrationId, { path: 'bulk' });
      expect(job.state).toBe('failed');
      expect(job.error?.message).toContain(`Canvas named the report file on ${foreign}`);
      expect(job.error?.message).toContain("neither this integration's Canvas");
      expect(seen).toEqual([]);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  describe('a Canvas that names the report file on another of its names (vanity domain vs *.instructure.com)', () => {
    const FILE_ROUTE = 'GET /accounts/:account_id/files/:id/download';

    it('downloads it from that name with the token when staff set it as the integration\'s other name', async () => {
      const h = await harness(buildSyncWorld({ fillers: 3 }), { reportFileHost: 'localhost' });
      const other = h.sandbox.url.replace('127.0.0.1', 'localhost');
      await ctx.store.db.updateTable('integrations').set({ canvas_other_url: other }).where('id', '=', h.integrationId).execute();
      const downloads: Array<{ url: string; authorization: string | null }> = [];
      const recording: typeof fetch = async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (/\/files\/\d+\/download/.test(url)) downloads.push({ url, authorization: new Headers(init?.headers as HeadersInit).get('authorization') });
        return fetch(input, init);
      };
      const deps = { ...h.deps, clientFor: (s: { canvasUrl: string; canvasOtherUrl?: string | null }) => createCanvasClient({ baseUrl: s.canvasUrl, otherUrl: s.canvasOtherUrl, userAgent: 'canvas-companion-test', fetch: recording }) };
      const job = await runJob(ctx.store, createCourseRefreshJob(deps), h.integrationId, { path: 'bulk' });
      expect(job.state).toBe('succeeded');
      expect(job.summary).toMatchObject({ path: 'bulk', courses: 10 });
      expect(downloads).toHaveLength(1);
      expect(downloads[0]!.url).toMatch(new RegExp(`^${other}/accounts/\\d+/files/\\d+/download`));
      expect(downloads[0]!.authorization).toBe(`Bearer ${await h.auth.current()}`);
      expect(h.sandbox.control.counters().requests[FILE_ROUTE]).toBe(1);
    });

    it('refuses it, with the reason and the fix, while no other name is set: the other name gets no request', async () => {
      const h = await harness(buildSyncWorld({ fillers: 3 }), { reportFileHost: 'localhost' });
      const other = h.sandbox.url.replace('127.0.0.1', 'localhost');
      const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'bulk' });
      expect(job.state).toBe('failed');
      expect(job.error?.message).toContain(`Canvas named the report file on ${other}`);
      expect(job.error?.message).toContain("set it as the integration's canvasOtherUrl");
      expect(h.sandbox.control.counters().requests[FILE_ROUTE] ?? 0).toBe(0);
    });
  });

  it('bulk (provisioning_csv) and REST give the same result on the same world', async () => {
    const world = buildSyncWorld({ fillers: 40 });
    const rest = await harness(world);
    const bulk = await harness(world);
    const a = await runJob(ctx.store, createCourseRefreshJob(rest.deps), rest.integrationId, { path: 'rest' });
    const b = await runJob(ctx.store, createCourseRefreshJob(bulk.deps), bulk.integrationId, {});
    expect(a.state).toBe('succeeded');
    expect(b.state).toBe('succeeded');
    expect(b.summary).toMatchObject({ path: 'bulk' });
    expect(await snapshot(bulk)).toEqual(await snapshot(rest));
    // The bulk path costs a handful of requests, not one per course.
    expect(Number(b.summary!.requests)).toBeLessThan(10);
  });

  it('explains sis_ids_hidden when the token owner cannot read SIS data, falling back to REST when reports are not allowed', async () => {
    const h = await harness(buildSyncWorld({ permissions: { read_sis: false, read_reports: false } }));
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ path: 'rest', fellBackToRest: expect.stringContaining('unauthorized') });
    expect(await h.deps.courses.getCourse(h.integrationId, '101')).toMatchObject({ syncable: false, reasons: ['sis_ids_hidden'], sisCourseId: null });
    expect(await h.deps.courses.getCourse(h.integrationId, '102')).toMatchObject({ reasons: ['unpublished', 'sis_ids_hidden'] });
    // No course can be synced, so no sections are asked for: the course reason says what to fix.
    expect(await h.deps.courses.getSections(h.integrationId, '101')).toEqual([]);
    expect(h.sandbox.control.counters().requests[SECTIONS_ROUTE] ?? 0).toBe(0);
  });

  it('refreshes the token when it expires mid-refresh and still completes', async () => {
    const h = await harness(buildSyncWorld({ fillers: 30 }));
    const upsert = h.deps.courses.upsertCourses;
    let expired = false;
    h.deps.courses.upsertCourses = async (...args) => {
      await upsert(...args);
      if (!expired) {
        expired = true;
        h.sandbox.control.expireTokens();
      }
    };
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' });
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ courses: 37 });
    expect(h.auth.refreshes).toBeGreaterThanOrEqual(1);
  });

  it('removes courses a later complete refresh no longer sees, and a failed refresh removes nothing', async () => {
    const h = await harness(buildSyncWorld());
    expect((await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {})).state).toBe('succeeded');
    h.sandbox.world.courses = h.sandbox.world.courses.filter((c) => c.id !== '103');
    const second = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    expect(second.summary).toMatchObject({ removed: 1, courses: 6 });
    expect(await h.deps.courses.getCourse(h.integrationId, '103')).toBeUndefined();

    h.sandbox.control.revokeTokens();
    const failed = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('token_revoked');
    expect(failed.summary).toBeNull();
    expect((await h.deps.courses.listCourses(h.integrationId)).courses).toHaveLength(6);
  });

  it('fails with account_not_found when the configured account does not exist', async () => {
    const h = await harness(buildSyncWorld({ permissions: { read_reports: false } }), { accountId: '424242' });
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('account_not_found');
  });

  it('fails with user_not_authorized (not "succeeded with zero courses") when the owner may not list courses', async () => {
    const h = await harness(buildSyncWorld({ permissions: { read_course_list: false, read_reports: false } }));
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('user_not_authorized');
  });
});

// Throttling is not storage-specific: it runs once, on SQLite, to keep the suite quick.
describe('course refresh under throttling (sqlite)', () => {
  const ctx = useSyncHarnesses(() => testDatabases()[0]!.open());
  const harness = ctx.harness;

  it.each(['403', '429'] as const)('completes with every course when Canvas throttles (%s mode)', async (mode) => {
    const h = await harness(buildSyncWorld({ fillers: 30 }), { latencyMs: 5, rateLimitMode: mode, throttle: { hwm: 120, outflow: 100 } });
    // Another app using the same token has just filled the bucket: our first requests are refused.
    const bucket = `token:${createHash('sha256').update(await h.auth.current()).digest('hex')}`;
    for (let i = 0; i < 4; i++) h.sandbox.state.buckets.reserve(bucket, h.sandbox.state.now());
    const job = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' }, 60_000);
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ courses: 37 });
    expect(Number(job.summary!.sections)).toBe((await snapshot(h)).reduce((n, c) => n + c.sections.length, 0));
    const notSyncable = new Set(['102', '103', '104']);
    expect(Number(job.summary!.sections)).toBe(h.sandbox.world.sections.filter((s) => !notSyncable.has(s.courseId)).length);
    expect(h.sandbox.control.counters().throttled).toBeGreaterThan(0);
    expect(Number(job.summary!.throttled)).toBeGreaterThan(0);
  });

  it('ends failed with throttled (not succeeded) when Canvas keeps throttling past the retry budget, and a later run completes', async () => {
    const h = await harness(buildSyncWorld({ fillers: 5 }), { latencyMs: 0, throttle: { hwm: 120, outflow: 0.001 } });
    // A small retry budget with instant back-off keeps the test fast; the bucket never drains meanwhile.
    h.deps.clientFor = (i) => createCanvasClient({ baseUrl: i.canvasUrl, userAgent: 'cc-test', governor: null, maxThrottleTries: 2, sleep: async () => undefined });
    const bucket = `token:${createHash('sha256').update(await h.auth.current()).digest('hex')}`;
    for (let i = 0; i < 4; i++) h.sandbox.state.buckets.reserve(bucket, h.sandbox.state.now());
    const failed = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' }, 60_000);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('throttled');

    h.sandbox.control.resetThrottle();
    const later = await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, { path: 'rest' }, 60_000);
    expect(later.state).toBe('succeeded');
    expect(later.summary).toMatchObject({ courses: h.sandbox.world.courses.length });
  });

});
