import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { apiGet, getTokens, parseLinks, startSandbox } from './sandbox-helpers.js';

interface Enr {
  id: number;
  user_id: number;
  type: string;
  role: string;
  enrollment_state: string;
  course_section_id: number;
  sis_user_id?: string | null;
  user: Record<string, unknown>;
}

describe('Canvas sandbox: roster endpoints, visibility and pagination', () => {
  let sb: CanvasSandbox;
  let admin: string;
  let limited: string;
  let teacher: string;
  beforeAll(async () => {
    sb = await startSandbox({ throttle: { enabled: false } });
    admin = (await getTokens(sb, 'admin')).access_token;
    limited = (await getTokens(sb, 'limited')).access_token;
    teacher = (await getTokens(sb, 'teacher')).access_token;
  });
  afterAll(() => sb.stop());

  async function allPages<T>(path: string, token: string): Promise<{ items: T[]; requests: number }> {
    let url: string | undefined = sb.url + path;
    const items: T[] = [];
    let requests = 0;
    while (url) {
      const r = await apiGet(sb, url.slice(sb.url.length), token);
      requests++;
      const page = (await r.json()) as T[];
      items.push(...page);
      const next = parseLinks(r.headers.get('link')).find(([rel]) => rel === 'next')?.[1];
      url = page.length === 0 ? undefined : next;
      if (requests > 200) throw new Error('runaway pagination');
    }
    return { items, requests };
  }

  describe('Link headers', () => {
    it('sections: ordinal with last, rels ordered current,next,prev,first,last joined by a bare comma', async () => {
      const r = await apiGet(sb, '/api/v1/courses/1001/sections?per_page=1&page=2&include[]=total_students', admin);
      const link = r.headers.get('link')!;
      expect(link).not.toContain(', ');
      const base = `${sb.url}/api/v1/courses/1001/sections?include%5B%5D=total_students&`;
      expect(parseLinks(link)).toEqual([
        ['current', `${base}page=2&per_page=1`],
        ['prev', `${base}page=1&per_page=1`],
        ['first', `${base}page=1&per_page=1`],
        ['last', `${base}page=2&per_page=1`],
      ]);
    });

    it('account courses: no last, next always present, a page past the end is 200 []', async () => {
      const r = await apiGet(sb, '/api/v1/accounts/self/courses?per_page=100&page=5', admin);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual([]);
      const rels = parseLinks(r.headers.get('link')).map(([rel]) => rel);
      expect(rels).toEqual(['current', 'next', 'prev', 'first']);
    });

    it('per_page defaults to 10, clamps to 100, and a non-numeric value to 1; access_token is not carried into links', async () => {
      const tenth = (await (await apiGet(sb, '/api/v1/accounts/self/courses', admin)).json()) as unknown[];
      expect(tenth).toHaveLength(10);
      const big = await apiGet(sb, '/api/v1/accounts/self/courses?per_page=500', admin);
      expect(((await big.json()) as unknown[]).length).toBeLessThanOrEqual(100);
      expect(big.headers.get('link')).toContain('per_page=100');
      const junk = await apiGet(sb, `/api/v1/accounts/self/courses?per_page=abc&access_token=${admin}`);
      expect((await junk.json()) as unknown[]).toHaveLength(1);
      expect(junk.headers.get('link')).not.toContain('access_token');
    });

    it('query params are re-encoded Rails-style: keys sorted, [] escaped, spaces as +', async () => {
      const r = await apiGet(sb, '/api/v1/accounts/self/courses?state[]=available&search_term=Demo%20Intro&include[]=term&per_page=2', admin);
      const current = parseLinks(r.headers.get('link'))[0]![1];
      expect(current).toBe(`${sb.url}/api/v1/accounts/self/courses?include%5B%5D=term&search_term=Demo+Intro&state%5B%5D=available&page=1&per_page=2`);
    });

    it('enrollments: bookmark pages (first, then bookmark:…), last only on the final page, never prev', async () => {
      const first = await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=5', admin);
      const rels1 = parseLinks(first.headers.get('link'));
      expect(rels1.map(([r]) => r)).toEqual(['current', 'next', 'first']);
      expect(rels1[0]![1]).toContain('page=first&per_page=5');
      const next = rels1[1]![1];
      expect(next).toMatch(/page=bookmark:[A-Za-z0-9_-]+&per_page=5$/);
      const token = /page=bookmark:([A-Za-z0-9_-]+)/.exec(next)![1]!;
      const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
      const firstPage = (await first.json()) as Enr[];
      const lastRow = firstPage[firstPage.length - 1]!;
      expect(key).toEqual([lastRow.type, lastRow.user['sortable_name'], lastRow.id]);

      const { items, requests } = await allPages<Enr>('/api/v1/courses/1001/enrollments?per_page=5', admin);
      expect(new Set(items.map((e) => e.id)).size).toBe(items.length);
      const final = await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=100', admin);
      const finalRels = parseLinks(final.headers.get('link'));
      expect(finalRels.map(([r]) => r)).toEqual(['current', 'first', 'last']);
      expect(finalRels[2]![1]).toBe(finalRels[0]![1]);
      expect(items).toHaveLength(((await final.json()) as Enr[]).length);
      expect(requests).toBe(Math.ceil(items.length / 5));
    });

    it('an undecodable bookmark is the first page', async () => {
      const r = await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=3&page=bookmark:%%%', admin);
      const first = await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=3', admin);
      expect(((await r.json()) as Enr[]).map((e) => e.id)).toEqual(((await first.json()) as Enr[]).map((e) => e.id));
    });
  });

  describe('enrollments', () => {
    it('defaults to active, invited, creation_pending and inactive for admins, sorted by type, sortable name, id', async () => {
      const { items } = await allPages<Enr>('/api/v1/courses/1001/enrollments?per_page=100', admin);
      expect(new Set(items.map((e) => e.enrollment_state))).toEqual(new Set(['active', 'invited', 'creation_pending', 'inactive']));
      const keys = items.map((e) => `${e.type}|${String(e.user['sortable_name'])}`);
      expect(keys).toEqual([...keys].sort());
    });

    it('state[] selects explicitly; type[] and role[] filter; custom role names are the role', async () => {
      const done = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?state[]=completed&state[]=deleted', admin)).json()) as Enr[];
      expect(done.map((e) => e.enrollment_state).sort()).toEqual(['completed', 'deleted']);
      const tas = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?type[]=TaEnrollment', admin)).json()) as Enr[];
      expect(tas.map((e) => e.type)).toEqual(['TaEnrollment']);
      const exam = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?role[]=Exam%20Student', admin)).json()) as Enr[];
      expect(exam.map((e) => [e.type, e.role])).toEqual([['StudentEnrollment', 'Exam Student']]);
      const unknown = await apiGet(sb, '/api/v1/courses/1001/enrollments?role[]=Nope', admin);
      expect(unknown.status).toBe(400);
    });

    it('sis ids need read_sis, login ids view_user_logins, email include[]=email + read_email_addresses and a confirmed address', async () => {
      const full = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=100&include[]=email', admin)).json()) as Enr[];
      const sam = full.find((e) => e.user_id === 5)!;
      expect(sam.sis_user_id).toBe('S0000005');
      expect(sam.user).toMatchObject({ sis_user_id: 'S0000005', integration_id: 'INT-U5', login_id: 'student', email: expect.any(String) });
      const nosis = full.find((e) => e.user_id === 14)!;
      expect(nosis.user['sis_user_id']).toBeNull();
      expect('email' in full.find((e) => e.user_id === 17)!.user).toBe(false);
      expect('login_id' in full.find((e) => e.user_id === 16)!.user).toBe(false);

      const noEmail = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=100', admin)).json()) as Enr[];
      expect(noEmail.some((e) => 'email' in e.user)).toBe(false);

      const hidden = (await (await apiGet(sb, '/api/v1/courses/1001/enrollments?per_page=100&include[]=email', limited)).json()) as Enr[];
      expect(hidden.some((e) => 'sis_user_id' in e || 'sis_user_id' in e.user || 'integration_id' in e.user)).toBe(false);
      expect(hidden.find((e) => e.user_id === 5)!.user['login_id']).toBe('student');
    });

    it('section enrollments are limited to the section; a teacher may read the roster', async () => {
      const sections = (await (await apiGet(sb, '/api/v1/courses/1001/sections', teacher)).json()) as Array<{ id: number }>;
      const secB = sections[1]!.id;
      const rows = (await (await apiGet(sb, `/api/v1/sections/${secB}/enrollments?per_page=100`, teacher)).json()) as Enr[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((e) => e.course_section_id === secB)).toBe(true);
      expect((await apiGet(sb, '/api/v1/sections/sis_section_id:FA26-EXAM101-B/enrollments', admin)).status).toBe(200);
    });
  });

  describe('courses and sections', () => {
    it('account courses: default states exclude deleted, state[]=all includes it, published filters; SIS fields need read_sis', async () => {
      const { items } = await allPages<Record<string, unknown>>('/api/v1/accounts/self/courses?per_page=100', admin);
      const states = new Set(items.map((c) => c['workflow_state']));
      expect(states.has('deleted')).toBe(false);
      expect(states.has('unpublished')).toBe(true);
      expect(items.find((c) => c['id'] === 1004)!['sis_course_id']).toBeNull();
      expect(items.some((c) => c['id'] === 1008)).toBe(true);
      const all = await allPages<Record<string, unknown>>('/api/v1/accounts/self/courses?per_page=100&state[]=all', admin);
      expect(all.items.some((c) => c['workflow_state'] === 'deleted')).toBe(true);
      const pub = await allPages<Record<string, unknown>>('/api/v1/accounts/self/courses?per_page=100&published=true', admin);
      expect(new Set(pub.items.map((c) => c['workflow_state']))).toEqual(new Set(['available']));
      const noSis = (await (await apiGet(sb, '/api/v1/accounts/self/courses', limited)).json()) as Array<Record<string, unknown>>;
      expect(noSis.some((c) => 'sis_course_id' in c || 'integration_id' in c)).toBe(false);
    });

    it('account courses strip include[]=sections and honour total_students and term', async () => {
      const rows = (await (await apiGet(sb, '/api/v1/accounts/self/courses?include[]=sections&include[]=total_students&include[]=term', admin)).json()) as Array<Record<string, unknown>>;
      const ready = rows.find((c) => c['id'] === 1001)!;
      expect('sections' in ready).toBe(false);
      // 13 active regular + Exam Student + 4 missing-field students + invited + creation_pending; not inactive/completed/rejected/deleted.
      expect(ready['total_students']).toBe(20);
      expect(ready['term']).toMatchObject({ id: 2, name: 'Fall 2026' });
    });

    it('a sub-account lists only its courses; a course can be found by sis_course_id: and sis_integration_id:', async () => {
      const math = (await (await apiGet(sb, '/api/v1/accounts/4/courses?per_page=100', admin)).json()) as Array<Record<string, unknown>>;
      expect(math.every((c) => c['account_id'] === 4)).toBe(true);
      const bySis = (await (await apiGet(sb, '/api/v1/courses/sis_course_id:FA26-EXAM101', admin)).json()) as Record<string, unknown>;
      expect(bySis['id']).toBe(1001);
      const byInt = (await (await apiGet(sb, '/api/v1/courses/sis_integration_id:INT-C1001', admin)).json()) as Record<string, unknown>;
      expect(byInt['id']).toBe(1001);
      expect((await apiGet(sb, '/api/v1/courses/sis_course_id:NOPE', admin)).status).toBe(404);
    });

    it('account courses without read_course_list is permission denied', async () => {
      sb.control.setPermissions({ userId: '2', permissions: { read_course_list: false } });
      try {
        expect((await apiGet(sb, '/api/v1/accounts/self/courses', limited)).status).toBe(401);
      } finally {
        sb.control.setPermissions({ userId: '2', permissions: { read_course_list: true } });
      }
    });
  });

  describe('course users', () => {
    it('defaults to active and invited; unconfirmed (invited-only) users lose SIS, login and email', async () => {
      const { items } = await allPages<Record<string, unknown>>('/api/v1/courses/1001/users?per_page=100', admin);
      const ids = items.map((u) => u['id']);
      expect(ids).toContain(7);
      expect(ids).not.toContain(9);
      const invited = items.find((u) => u['id'] === 7)!;
      expect('sis_user_id' in invited || 'login_id' in invited || 'email' in invited).toBe(false);
      const active = items.find((u) => u['id'] === 5)!;
      expect(active).toMatchObject({ sis_user_id: 'S0000005', login_id: 'student' });
      expect(typeof active['email']).toBe('string');
      const link = (await apiGet(sb, '/api/v1/courses/1001/users?per_page=2', admin)).headers.get('link');
      expect(parseLinks(link).map(([r]) => r)).toEqual(['current', 'next', 'first']);
    });
  });

  describe('accounts, roles, permissions, users', () => {
    it('GET /accounts lists the admin\'s account; a student gets []', async () => {
      const rows = (await (await apiGet(sb, '/api/v1/accounts', admin)).json()) as Array<Record<string, unknown>>;
      expect(rows.map((a) => a['id'])).toEqual([1]);
      const student = (await getTokens(sb, 'student')).access_token;
      expect(await (await apiGet(sb, '/api/v1/accounts', student)).json()).toEqual([]);
    });

    it('roles list built-ins and the custom Exam Student role with its base type', async () => {
      const roles = (await (await apiGet(sb, '/api/v1/accounts/self/roles?per_page=100', admin)).json()) as Array<Record<string, unknown>>;
      expect(roles.find((r) => r['label'] === 'Exam Student')).toMatchObject({ base_role_type: 'StudentEnrollment', workflow_state: 'active', is_account_role: false });
      expect(roles.find((r) => r['role'] === 'StudentEnrollment')).toMatchObject({ base_role_type: 'StudentEnrollment', workflow_state: 'built_in' });
    });

    it('permissions answers each asked permission as a boolean', async () => {
      expect(await (await apiGet(sb, '/api/v1/accounts/self/permissions?permissions[]=read_sis&permissions[]=read_roster', admin)).json()).toEqual({ read_sis: true, read_roster: true });
      expect(await (await apiGet(sb, '/api/v1/accounts/self/permissions?permissions[]=read_sis&permissions[]=read_roster', limited)).json()).toEqual({ read_sis: false, read_roster: true });
    });

    it('users/self has the base user fields with integer id', async () => {
      const me = (await (await apiGet(sb, '/api/v1/users/self', limited)).json()) as Record<string, unknown>;
      expect(me).toMatchObject({ id: 2, name: 'Limited Admin', sortable_name: 'Admin, Limited', short_name: 'Limited', effective_locale: 'en' });
      expect('sis_user_id' in me).toBe(false);
      expect(typeof me['created_at']).toBe('string');
    });
  });
});
