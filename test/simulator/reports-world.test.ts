import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import { buildDemoWorld } from '../../src/simulator/demo-world.js';
import { cgiEscape, parseParams, toQuery, toSentence } from '../../src/simulator/rails-params.js';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { loadWorld, saveWorld } from '../../src/simulator/world.js';
import { apiGet, getTokens, startSandbox, UA } from './sandbox-helpers.js';

interface Report {
  id: number;
  status: string;
  progress: number;
  file_url?: string;
}

describe('Canvas sandbox: provisioning_csv report', () => {
  let sb: CanvasSandbox;
  let token: string;
  beforeAll(async () => {
    sb = await startSandbox({ reportDelayMs: 100 });
    token = (await getTokens(sb)).access_token;
  });
  afterAll(() => sb.stop());

  const start = (params: string, t = token) =>
    fetch(`${sb.url}/api/v1/accounts/self/reports/provisioning_csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t}`, 'user-agent': UA, 'content-type': 'application/x-www-form-urlencoded' },
      body: params,
    });

  async function finished(id: number): Promise<Report> {
    for (let i = 0; i < 50; i++) {
      const r = (await (await apiGet(sb, `/api/v1/accounts/self/reports/provisioning_csv/${id}`, token)).json()) as Report;
      if (r.status === 'complete') return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error('report never completed');
  }

  async function files(params: string): Promise<Record<string, Array<Record<string, string>>>> {
    const started = (await (await start(params)).json()) as Report;
    expect(started.status).toBe('created');
    expect(started.file_url).toBeNull();
    const done = await finished(started.id);
    expect(done.progress).toBe(100);
    const r = await fetch(done.file_url!, { headers: { authorization: `Bearer ${token}`, 'user-agent': UA } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/zip');
    const zip = unzipSync(new Uint8Array(await r.arrayBuffer()));
    return Object.fromEntries(Object.entries(zip).map(([name, data]) => [name, parse(strFromU8(data), { columns: true }) as Array<Record<string, string>>]));
  }

  it('runs asynchronously and serves a zip of courses.csv and sections.csv with the documented columns and statuses', async () => {
    const out = await files('parameters[courses]=true&parameters[sections]=true');
    expect(Object.keys(out).sort()).toEqual(['courses.csv', 'sections.csv']);
    const courses = out['courses.csv']!;
    expect(Object.keys(courses[0]!).slice(0, 10)).toEqual([
      'canvas_course_id', 'course_id', 'integration_id', 'short_name', 'long_name', 'canvas_account_id', 'account_id', 'canvas_term_id', 'term_id', 'status',
    ]);
    const byId = new Map(courses.map((c) => [c['canvas_course_id'], c]));
    expect(byId.get('1001')).toMatchObject({ course_id: 'FA26-EXAM101', status: 'active', long_name: 'Demo: Introduction to Exams' });
    expect(byId.get('1002')!['status']).toBe('unpublished');
    expect(byId.get('1003')!['status']).toBe('unpublished');
    expect(byId.get('1004')!['course_id']).toBe('');
    expect(byId.has('1006')).toBe(false);
    expect(byId.has('1007')).toBe(false);
    const sections = out['sections.csv']!;
    expect(Object.keys(sections[0]!).slice(0, 7)).toEqual(['canvas_section_id', 'section_id', 'canvas_course_id', 'course_id', 'integration_id', 'name', 'status']);
    expect(sections.filter((s) => s['canvas_course_id'] === '1001').map((s) => s['section_id']).sort()).toEqual(['FA26-EXAM101-A', 'FA26-EXAM101-B']);
    expect(sections.find((s) => s['canvas_course_id'] === '1009')!['section_id']).toBe('');
  });

  it('include_deleted adds deleted and concluded courses', async () => {
    const out = await files('parameters[courses]=true&parameters[sections]=true&parameters[include_deleted]=true');
    const byId = new Map(out['courses.csv']!.map((c) => [c['canvas_course_id'], c]));
    expect(byId.get('1006')!['status']).toBe('deleted');
    expect(byId.get('1007')!['status']).toBe('concluded');
  });

  it('needs read_reports, and the download needs a token', async () => {
    const teacher = (await getTokens(sb, 'teacher')).access_token;
    expect((await start('parameters[courses]=true', teacher)).status).toBe(401);
    const started = (await (await start('parameters[courses]=true&parameters[sections]=true')).json()) as Report;
    const done = await finished(started.id);
    expect((await fetch(done.file_url!, { headers: { 'user-agent': UA } })).status).toBe(401);
  });
});

describe('Canvas sandbox: demo world and world files', () => {
  it('is deterministic for a seed and has about 2,000 courses by default', () => {
    const a = buildDemoWorld();
    expect(a.courses).toHaveLength(2000);
    expect(buildDemoWorld({ courses: 50, seed: 3 })).toEqual(buildDemoWorld({ courses: 50, seed: 3 }));
    expect(buildDemoWorld({ courses: 50, seed: 3 })).not.toEqual(buildDemoWorld({ courses: 50, seed: 4 }));
  });

  it('contains every course and roster reason not to sync', () => {
    const w = buildDemoWorld({ courses: 30 });
    const states = new Set(w.courses.map((c) => c.workflowState));
    for (const s of ['created', 'claimed', 'available', 'completed', 'deleted']) expect(states.has(s as never)).toBe(true);
    expect(w.courses.some((c) => !c.sisCourseId)).toBe(true);
    expect(w.courses.some((c) => !c.integrationId)).toBe(true);
    expect(w.courses.some((c) => c.accountId !== '2')).toBe(true);
    expect(w.sections.some((s) => !s.sisSectionId)).toBe(true);
    const e1001 = w.enrollments.filter((e) => e.courseId === '1001');
    for (const s of ['active', 'invited', 'creation_pending', 'inactive', 'completed']) expect(e1001.some((e) => e.state === s)).toBe(true);
    for (const t of ['TeacherEnrollment', 'TaEnrollment', 'StudentEnrollment']) expect(e1001.some((e) => e.type === t)).toBe(true);
    expect(e1001.some((e) => e.role === 'Exam Student' && e.type === 'StudentEnrollment')).toBe(true);
    expect(w.roles).toContainEqual(expect.objectContaining({ label: 'Exam Student', baseRoleType: 'StudentEnrollment' }));
    const students = new Set(e1001.filter((e) => e.type === 'StudentEnrollment').map((e) => e.userId));
    const users = w.users.filter((u) => students.has(u.id));
    expect(users.some((u) => !u.sisUserId)).toBe(true);
    expect(users.some((u) => !u.email)).toBe(true);
    expect(users.some((u) => !u.loginId)).toBe(true);
    expect(w.users.find((u) => u.loginId === 'admin')).toMatchObject({ password: 'password' });
    expect(w.users.find((u) => u.loginId === 'limited')!.admin!.permissions.read_sis).toBe(false);
    expect(w.developerKeys[0]).toMatchObject({ id: '10000000000001', binding: 'on', requireScopes: false });
    expect(w.developerKeys[0]!.redirectUris).toEqual(expect.arrayContaining(['http://localhost:3000/oauth/callback', 'http://127.0.0.1:3000/oauth/callback']));
  });

  it('saves and loads as JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-world-'));
    try {
      const w = buildDemoWorld({ courses: 12 });
      saveWorld(w, join(dir, 'w.json'));
      expect(loadWorld(join(dir, 'w.json'))).toEqual(w);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Rails parameter helpers', () => {
  it('to_query sorts keys, escapes like CGI.escape, and renders arrays and hashes', () => {
    expect(toQuery({ state: 'a b', error: 'x"y', code: undefined })).toBe('error=x%22y&state=a+b');
    expect(toQuery({ include: ['term', 'total_students'], a: { b: 'c' } })).toBe('a%5Bb%5D=c&include%5B%5D=term&include%5B%5D=total_students');
    expect(cgiEscape('é~*')).toBe('%C3%A9~%2A');
  });

  it('parses nested params; a repeated plain key keeps the last value', () => {
    expect(parseParams('a=1&a=2&b[]=x&b[]=y&p[courses]=true')).toEqual({ a: '2', b: ['x', 'y'], p: { courses: 'true' } });
  });

  it('to_sentence', () => {
    expect([toSentence(['a']), toSentence(['a', 'b']), toSentence(['a', 'b', 'c'])]).toEqual(['a', 'a and b', 'a, b, and c']);
  });
});

describe('Canvas sandbox boundary', () => {
  it('never imports the product code it is used to test (only its own folder and packages)', () => {
    const dir = join(process.cwd(), 'src', 'simulator');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/from '(\.\.\/[^']+)'/g)].map((m) => `${f}: ${m[1]}`));
    expect(offenders).toEqual([]);
  });
});
