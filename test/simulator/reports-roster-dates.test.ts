import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import { buildDemoWorld } from '../../src/simulator/demo-world.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { apiGet, getTokens, UA } from './sandbox-helpers.js';

/** 2026-12-06: Fall 2026 is running, Spring 2027 (course 1011) has not started. */
const START = Date.parse('2026-12-06T12:00:00Z');
const DELAY = 10_000;

interface Report {
  id: number;
  status: string;
  progress: number;
  current_line: number | null;
  started_at: string | null;
  ended_at: string | null;
  run_time: number | null;
  file_url: string | null;
  parameters: Record<string, string>;
  attachment?: { url: string; size: number; 'content-type': string; filename: string };
}

type Rows = Array<Record<string, string>>;

describe('Canvas sandbox: reports, roster facts and date states', () => {
  let sb: CanvasSandbox;
  let now = START;
  let admin: string;
  beforeAll(async () => {
    sb = createCanvasSandbox({ world: buildDemoWorld({ courses: 30, seed: 5 }), clock: () => new Date(now), reportDelayMs: DELAY });
    await sb.start();
    admin = (await getTokens(sb)).access_token;
  });
  afterAll(() => sb.stop());

  const send = (method: string, path: string, body = '', token = admin) =>
    fetch(sb.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'user-agent': UA, 'content-type': 'application/x-www-form-urlencoded' },
      body: method === 'GET' ? undefined : body,
    });
  const start = async (params: string) => {
    const r = await send('POST', '/api/v1/accounts/1/reports/provisioning_csv', params);
    expect(r.status).toBe(200);
    return (await r.json()) as Report;
  };
  const status = async (id: number) => (await (await send('GET', `/api/v1/accounts/1/reports/provisioning_csv/${id}`)).json()) as Report;
  async function run(params: string): Promise<Record<string, Rows>> {
    const started = await start(params);
    // Age the report instead of moving the clock, so tokens and other reports are untouched.
    sb.state.reports.get(started.id)!.createdAt -= DELAY;
    const done = await status(started.id);
    expect(done.status).toBe('complete');
    const r = await fetch(done.file_url!, { headers: { authorization: `Bearer ${admin}`, 'user-agent': UA } });
    expect(r.status).toBe(200);
    const bytes = new Uint8Array(await r.arrayBuffer());
    const texts: Record<string, string> =
      r.headers.get('content-type') === 'application/zip'
        ? Object.fromEntries(Object.entries(unzipSync(bytes)).map(([n, d]) => [n, strFromU8(d)]))
        : { [done.attachment!.filename]: strFromU8(bytes) };
    return Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, Object.assign(parse(t, { columns: true }) as Rows, { header: t.split('\n')[0] })]));
  }
  const header = (rows: Rows) => (rows as Rows & { header: string }).header;

  describe('report lifecycle', () => {
    it('POST answers 200 created; polls move running → compiling → complete with progress, current_line, started_at, ended_at, run_time', async () => {
      const r = await start('parameters[courses]=true&parameters[sections]=1&parameters[enrollments]=on');
      expect(r).toMatchObject({ status: 'created', progress: 0, started_at: null, ended_at: null, file_url: null, current_line: null, run_time: null });
      expect(r.attachment).toBeUndefined();
      expect(r.parameters['extra_text']).toBe('Term: All Terms; Reports: courses sections enrollments ');
      now += DELAY * 0.5;
      const running = await status(r.id);
      expect(running).toMatchObject({ status: 'running', progress: 50, ended_at: null, file_url: null });
      expect(running.started_at).not.toBeNull();
      now += DELAY * 0.4;
      const compiling = await status(r.id);
      expect(compiling.status).toBe('compiling');
      expect(compiling.current_line).toBeGreaterThan(100);
      now += DELAY * 0.1;
      const done = await status(r.id);
      expect(done).toMatchObject({ status: 'complete', progress: 100, run_time: DELAY / 1000, current_line: compiling.current_line });
      expect(done.ended_at).toBe(new Date(now).toISOString());
      now = START;
    });

    it('file_url is /accounts/:id/files/:attachment_id/download, attachment.url has no verifier, and both need a Bearer token', async () => {
      const r = await start('parameters[courses]=true');
      sb.state.reports.get(r.id)!.createdAt -= DELAY;
      const done = await status(r.id);
      expect(done.file_url).toBe(`${sb.url}/accounts/1/files/${r.id + 500_000}/download`);
      expect(done.attachment!.url).not.toContain('verifier');
      expect(done.attachment!['content-type']).toBe('text/csv');
      for (const url of [done.file_url!, done.attachment!.url]) {
        expect((await fetch(url, { headers: { 'user-agent': UA } })).status).toBe(401);
        const ok = await fetch(url, { headers: { authorization: `Bearer ${admin}`, 'user-agent': UA } });
        expect(ok.status).toBe(200);
        expect((await ok.arrayBuffer()).byteLength).toBe(done.attachment!.size);
      }
      expect((await fetch(`${sb.url}/accounts/2/files/${r.id + 500_000}/download`, { headers: { authorization: `Bearer ${admin}`, 'user-agent': UA } })).status).toBe(404);
    });

    it('unknown report → 404; bad enrollment_term_id → 400 with the exact body; sis ids, lists and active_terms pass', async () => {
      const unknown = await send('POST', '/api/v1/accounts/1/reports/no_such_report', 'parameters[courses]=true');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ errors: [{ message: 'The specified resource does not exist.' }] });
      expect((await send('GET', '/api/v1/accounts/1/reports/provisioning_csv/999999')).status).toBe(404);
      const bad = await send('POST', '/api/v1/accounts/1/reports/provisioning_csv', 'parameters[courses]=true&parameters[enrollment_term_id]=77');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: "invalid enrollment_term_id '77'" });
      const deleted = await send('POST', '/api/v1/accounts/1/reports/provisioning_csv', 'parameters[courses]=true&parameters[enrollment_term_id]=sis_term_id:SU25');
      expect(deleted.status).toBe(400);
      for (const v of ['2', 'sis_term_id:FA26', '2,sis_term_id:SP27', 'active_terms']) {
        expect((await send('POST', '/api/v1/accounts/1/reports/provisioning_csv', `parameters[courses]=true&parameters[enrollment_term_id]=${encodeURIComponent(v)}`)).status).toBe(200);
      }
    });

    it('abort works only while running (404 otherwise); DELETE soft-deletes', async () => {
      const r = await start('parameters[courses]=true');
      expect((await send('PUT', `/api/v1/accounts/1/reports/provisioning_csv/${r.id}/abort`)).status).toBe(404);
      now += DELAY / 4;
      const aborted = await send('PUT', `/api/v1/accounts/1/reports/provisioning_csv/${r.id}/abort`);
      expect(aborted.status).toBe(200);
      expect(((await aborted.json()) as Report).status).toBe('aborted');
      now += DELAY;
      expect((await status(r.id)).status).toBe('aborted');
      const done = await start('parameters[courses]=true');
      now += DELAY * 2;
      expect((await send('PUT', `/api/v1/accounts/1/reports/provisioning_csv/${done.id}/abort`)).status).toBe(404);
      const del = await send('DELETE', `/api/v1/accounts/1/reports/provisioning_csv/${done.id}`);
      expect(((await del.json()) as Report).status).toBe('deleted');
      expect((await send('GET', `/api/v1/accounts/1/reports/provisioning_csv/${done.id}`)).status).toBe(404);
      now = START;
    });
  });

  describe('provisioning_csv tables', () => {
    it('every table has the exact header row', async () => {
      const out = await run('parameters[users]=true&parameters[accounts]=true&parameters[terms]=true&parameters[courses]=true&parameters[sections]=true&parameters[enrollments]=true');
      expect(Object.keys(out).sort()).toEqual(['accounts.csv', 'courses.csv', 'enrollments.csv', 'sections.csv', 'terms.csv', 'users.csv']);
      expect(header(out['users.csv']!)).toBe('canvas_user_id,user_id,integration_id,authentication_provider_id,login_id,first_name,last_name,full_name,sortable_name,short_name,email,status,created_by_sis');
      expect(header(out['accounts.csv']!)).toBe('canvas_account_id,account_id,canvas_parent_id,parent_account_id,name,status,created_by_sis');
      expect(header(out['terms.csv']!)).toBe('canvas_term_id,term_id,name,status,start_date,end_date,created_by_sis');
      expect(header(out['courses.csv']!)).toBe('canvas_course_id,course_id,integration_id,short_name,long_name,canvas_account_id,account_id,canvas_term_id,term_id,status,start_date,end_date,course_format,canvas_blueprint_course_id,blueprint_course_id,created_by_sis');
      expect(header(out['sections.csv']!)).toBe('canvas_section_id,section_id,canvas_course_id,course_id,integration_id,name,status,start_date,end_date,canvas_account_id,account_id,created_by_sis');
      expect(header(out['enrollments.csv']!)).toBe('canvas_course_id,course_id,canvas_user_id,user_id,role,role_id,canvas_section_id,section_id,status,canvas_associated_user_id,associated_user_id,created_by_sis,base_role_type,limit_section_privileges,canvas_enrollment_id');
      // accounts.csv: direct children of the report's account only.
      expect(out['accounts.csv']!.map((a) => a['canvas_account_id'])).toEqual(['2', '3']);
    });

    it('courses.csv dates only when restricted to course dates, in the root time zone', async () => {
      const courses = (await run('parameters[courses]=true'))['courses.csv']!;
      const byId = new Map(courses.map((c) => [c['canvas_course_id'], c]));
      expect(byId.get('1012')).toMatchObject({ start_date: '2026-09-01T00:00:00-06:00', end_date: '2026-12-15T00:00:00-07:00', course_format: 'blended' });
      expect(byId.get('1001')).toMatchObject({ start_date: '', end_date: '', term_id: 'FA26', created_by_sis: 'true' });
      expect(byId.get('1011')!['term_id']).toBe('SP27');
    });

    it('enrollments.csv: creation_pending → invited; completed and deleted only with include_deleted (concluded / deleted); no row without a login', async () => {
      const rowsFor = (rows: Rows, userId: string) => rows.filter((r) => r['canvas_course_id'] === '1001' && r['canvas_user_id'] === userId);
      const plain = (await run('parameters[enrollments]=true'))['enrollments.csv']!;
      expect(rowsFor(plain, '8')[0]).toMatchObject({ status: 'invited', role: 'student', role_id: '3', base_role_type: 'StudentEnrollment' });
      expect(rowsFor(plain, '10')).toEqual([]);
      expect(rowsFor(plain, '12')).toEqual([]);
      expect(rowsFor(plain, '16')).toEqual([]);
      expect(rowsFor(plain, '13')[0]).toMatchObject({ role: 'Exam Student', role_id: '20' });
      expect(rowsFor(plain, '18')[0]).toMatchObject({ role: 'observer', canvas_associated_user_id: '5', associated_user_id: 'S0000005' });
      expect(rowsFor(plain, '4')[0]).toMatchObject({ role: 'teacher', status: 'active' });
      const all = (await run('parameters[enrollments]=true&parameters[include_deleted]=true'))['enrollments.csv']!;
      expect(rowsFor(all, '10')[0]!['status']).toBe('concluded');
      expect(rowsFor(all, '12')[0]!['status']).toBe('deleted');
    });

    it('users.csv has one row per login; terms.csv shows deleted terms only with include_deleted; enrollment_term_id limits courses', async () => {
      const out = await run('parameters[users]=true&parameters[terms]=true');
      const tess = out['users.csv']!.filter((u) => u['canvas_user_id'] === '22');
      expect(tess.map((u) => u['login_id']).sort()).toEqual(['tess.alt', 'tess.twologins22']);
      expect(tess.find((u) => u['login_id'] === 'tess.alt')).toMatchObject({ user_id: 'S-ALT22', first_name: 'Tess', last_name: 'Twologins', status: 'active' });
      expect(out['users.csv']!.some((u) => u['canvas_user_id'] === '16')).toBe(false);
      expect(out['terms.csv']!.map((t) => t['term_id'])).toEqual(['', 'FA26', 'SP26', 'SP27']);
      const withDeleted = await run('parameters[terms]=true&parameters[include_deleted]=true');
      expect(withDeleted['terms.csv']!.find((t) => t['term_id'] === 'SU25')!['status']).toBe('deleted');
      const spring = await run('parameters[courses]=true&parameters[enrollment_term_id]=sis_term_id:SP27');
      expect(spring['courses.csv']!.map((c) => c['canvas_course_id'])).toEqual(['1011']);
    });
  });

  describe('date-based states', () => {
    it('a student in a not-yet-started term is active in REST lists and pending_active in their own list', async () => {
      const fay = (await getTokens(sb, 'futurestudent')).access_token;
      const list = (await (await apiGet(sb, '/api/v1/courses/1011/enrollments?per_page=100', admin)).json()) as Array<{ user_id: number; enrollment_state: string }>;
      expect(list.find((e) => e.user_id === 21)!.enrollment_state).toBe('active');
      const pending = (await (await apiGet(sb, '/api/v1/users/self/enrollments?state[]=pending_active', fay)).json()) as Array<{ course_id: number; enrollment_state: string }>;
      expect(pending.map((e) => [e.course_id, e.enrollment_state])).toEqual([[1011, 'active']]);
      expect(await (await apiGet(sb, '/api/v1/users/self/enrollments?state[]=active', fay)).json()).toEqual([]);
      // For another user, state[] matches the workflow state.
      expect(await (await apiGet(sb, '/api/v1/users/21/enrollments?state[]=pending_active', admin)).json()).toEqual([]);
      expect(((await (await apiGet(sb, '/api/v1/users/21/enrollments?state[]=active', admin)).json()) as unknown[]).length).toBe(1);
    });

    it('a teacher in the same course is date-inactive, not pending', async () => {
      const felix = (await getTokens(sb, 'futureteacher')).access_token;
      const inactive = (await (await apiGet(sb, '/api/v1/users/self/enrollments?state[]=inactive', felix)).json()) as Array<{ course_id: number; type: string; enrollment_state: string }>;
      expect(inactive.map((e) => [e.course_id, e.type, e.enrollment_state])).toEqual([[1011, 'TeacherEnrollment', 'active']]);
      expect(await (await apiGet(sb, '/api/v1/users/self/enrollments?state[]=pending_active', felix)).json()).toEqual([]);
    });

    it('once the term starts the student is current', async () => {
      now = Date.parse('2027-02-01T12:00:00Z');
      try {
        const fay = (await getTokens(sb, 'futurestudent')).access_token;
        const active = (await (await apiGet(sb, '/api/v1/users/self/enrollments?state[]=active', fay)).json()) as Array<{ course_id: number }>;
        expect(active.map((e) => e.course_id)).toEqual([1011]);
      } finally {
        now = START;
      }
    });
  });

  describe('Course JSON', () => {
    it('include[]=term, account and subaccount', async () => {
      const c = (await (await apiGet(sb, '/api/v1/courses/1011?include[]=term&include[]=account&include[]=subaccount', admin)).json()) as Record<string, unknown>;
      expect(c['term']).toMatchObject({ id: 4, name: 'Spring 2027', start_at: '2027-01-11T07:00:00Z', end_at: '2027-05-07T06:00:00Z', workflow_state: 'active', sis_term_id: 'SP27' });
      expect(c['account']).toMatchObject({ id: 2, name: 'College of Arts & Sciences', parent_account_id: 1 });
      expect(c).toMatchObject({ subaccount_id: 2, subaccount_name: 'College of Arts & Sciences' });
      const dated = (await (await apiGet(sb, '/api/v1/courses/1012', admin)).json()) as Record<string, unknown>;
      expect(dated).toMatchObject({ restrict_enrollments_to_course_dates: true, start_at: '2026-09-01T06:00:00Z', end_at: '2026-12-15T07:00:00Z' });
    });

    it('GET /api/v1/courses: enrollments[].type is the lower-case SIS type', async () => {
      const teacher = (await getTokens(sb, 'teacher')).access_token;
      const courses = (await (await apiGet(sb, '/api/v1/courses', teacher)).json()) as Array<{ id: number; enrollments: unknown[] }>;
      expect(courses.find((c) => c.id === 1001)!.enrollments).toEqual([
        { type: 'teacher', role: 'TeacherEnrollment', role_id: 4, user_id: 4, enrollment_state: 'active', limit_privileges_to_course_section: false },
      ]);
      const student = (await getTokens(sb, 'student')).access_token;
      const mine = (await (await apiGet(sb, '/api/v1/courses', student)).json()) as Array<{ id: number; enrollments: Array<{ type: string }> }>;
      expect(mine.find((c) => c.id === 1001)!.enrollments[0]!.type).toBe('student');
    });
  });

  describe('world controls', () => {
    const roster = async () =>
      (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=100', admin)).json()) as Array<{ user_id: number; course_section_id: number; enrollment_state: string }>;

    it('add, move, conclude and drop a person; rename and unpublish a course (also over HTTP)', async () => {
      const u = sb.control.addUser({ name: 'Nina Newcomer', sisUserId: 'S-NEW' });
      const e = sb.control.enroll({ userId: u.id, sectionId: '5002' });
      expect((await roster()).find((x) => x.user_id === Number(u.id))).toMatchObject({ course_section_id: 5002, enrollment_state: 'active' });
      sb.control.moveEnrollment({ enrollmentId: e.id, sectionId: '5001' });
      expect((await roster()).find((x) => x.user_id === Number(u.id))!.course_section_id).toBe(5001);
      expect(() => sb.control.moveEnrollment({ enrollmentId: e.id, sectionId: '5003' })).toThrow(/not a section of course 1001/);
      sb.control.concludeEnrollment({ userId: u.id, courseId: '1001' });
      expect((await roster()).some((x) => x.user_id === Number(u.id))).toBe(false);
      const r = await fetch(`${sb.url}/__sandbox/dropEnrollment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentId: e.id }) });
      expect(((await r.json()) as { result: { state: string } }).result.state).toBe('deleted');
      const upd = await fetch(`${sb.url}/__sandbox/updateCourse`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ courseId: '1005', name: 'Renamed', published: false, startAt: '2026-09-02T06:00:00Z' }),
      });
      expect(upd.status).toBe(200);
      const c = (await (await apiGet(sb, '/api/v1/courses/1005', admin)).json()) as Record<string, unknown>;
      expect(c).toMatchObject({ name: 'Renamed', workflow_state: 'unpublished', start_at: '2026-09-02T06:00:00Z' });
      expect((await fetch(`${sb.url}/__sandbox/updateCourse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ courseId: '9' }) })).status).toBe(400);
    });
  });
});
