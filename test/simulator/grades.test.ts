import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DEMO_GRADE_SCOPES, DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { apiGet, getTokens, startSandbox, UA } from './sandbox-helpers.js';

interface Progress {
  id: number;
  workflow_state: string;
  completion: number;
  message: string | null;
  tag: string;
  url: string;
  context_type: string;
  context_id: number;
  user_id: number;
  results?: unknown;
}

interface Sub {
  user_id: number;
  assignment_id: number;
  score: number | null;
  grade: string | null;
  posted_at: string | null;
  grader_id: number | null;
  workflow_state: string;
  submission_comments?: Array<{ comment: string }>;
}

const UNAUTHORIZED = { status: 'unauthorized', errors: [{ message: 'user not authorized to perform that action' }] };

describe('Canvas sandbox: grade passback', () => {
  let sb: CanvasSandbox;
  let admin: string;
  let student: string;
  beforeAll(async () => {
    sb = await startSandbox();
    admin = (await getTokens(sb)).access_token;
    student = (await getTokens(sb, 'student')).access_token;
  });
  afterAll(() => sb.stop());
  beforeEach(() => sb.control.resetCounters());

  const post = (path: string, body: string, token = admin) =>
    fetch(sb.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'user-agent': UA, 'content-type': 'application/x-www-form-urlencoded' }, body });
  const getJson = async <T>(path: string, token = admin): Promise<T> => (await (await apiGet(sb, path, token)).json()) as T;
  const grade = (aid: string, body: string, token = admin) => post(`/api/v1/courses/1001/assignments/${aid}/submissions/update_grades`, body, token);
  const poll = (id: number) => getJson<Progress>(`/api/v1/progress/${id}`);
  async function finish(p: Progress): Promise<Progress> {
    let cur = p;
    for (let i = 0; i < 10 && (cur.workflow_state === 'queued' || cur.workflow_state === 'running'); i++) cur = await poll(p.id);
    return cur;
  }
  const submissionOf = async (aid: string, userId: number) =>
    (await getJson<Sub[]>(`/api/v1/courses/1001/assignments/${aid}/submissions?per_page=100`)).find((s) => s.user_id === userId)!;

  describe('assignments', () => {
    it('create keeps integration_id / integration_data; unpublished unless published=true; name required', async () => {
      const r = await post(
        '/api/v1/courses/1001/assignments',
        `assignment[name]=Exam+A&assignment[points_possible]=50&assignment[integration_id]=CC-1&assignment[integration_data]=${encodeURIComponent('{"exam":"A"}')}&assignment[published]=true&assignment[submission_types][]=external_tool`,
      );
      expect(r.status).toBe(201);
      expect(await r.json()).toMatchObject({ name: 'Exam A', points_possible: 50, integration_id: 'CC-1', integration_data: { exam: 'A' }, published: true, submission_types: ['external_tool'], course_id: 1001 });
      const draft = (await (await post('/api/v1/courses/1001/assignments', 'assignment[name]=Exam+B+draft')).json()) as { published: boolean };
      expect(draft.published).toBe(false);
      expect((await post('/api/v1/courses/1001/assignments', 'assignment[points_possible]=5')).status).toBe(400);
      expect((await post('/api/v1/courses/1001/assignments', 'assignment[name]=x', student)).status).toBe(401);
      expect(sb.control.counters().writes.assignmentsCreated).toBe(2);
    });

    it('list has no integration_id filter; search_term matches titles; students see only published ones', async () => {
      const all = await getJson<Array<{ name: string; integration_id: string | null }>>('/api/v1/courses/1001/assignments?integration_id=CC-1&per_page=100');
      expect(all.length).toBeGreaterThan(1);
      expect(all.some((a) => a.integration_id !== 'CC-1')).toBe(true);
      const found = await getJson<Array<{ name: string }>>('/api/v1/courses/1001/assignments?search_term=exam+a&per_page=100');
      expect(found.map((a) => a.name)).toEqual(['Exam A']);
      const seen = await getJson<Array<{ name: string; published: boolean }>>('/api/v1/courses/1001/assignments?per_page=100', student);
      expect(seen.every((a) => a.published)).toBe(true);
      expect(seen.some((a) => a.name === 'Midterm exam')).toBe(true);
    });
  });

  describe('update_grades', () => {
    it('synchronous refusals: missing grade_data 400, unpublished 401, unknown assignment 400, non-grader 401', async () => {
      let r = await grade('7001', '');
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: "'grade_data' parameter required" });
      r = await grade('7003', 'grade_data[5][posted_grade]=5');
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual(UNAUTHORIZED);
      r = await grade('9999', 'grade_data[5][posted_grade]=5');
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: 'Some assignments could not be found: ( 9999 )' });
      r = await grade('7001', 'grade_data[5][posted_grade]=5', student);
      expect(r.status).toBe(401);
      expect(sb.control.counters().writes.updateGrades).toBe(4);
      expect(sb.control.counters().writes.gradesStored).toBe(0);
    });

    it('answers a queued Progress that runs → completes over polls; the grade lands only when the job ran', async () => {
      const r = await grade('7001', 'grade_data[5][posted_grade]=88&grade_data[sis_user_id:S0000005][text_comment]=Well+done');
      expect(r.status).toBe(200);
      const p = (await r.json()) as Progress;
      expect(p).toMatchObject({ workflow_state: 'queued', completion: 0, tag: 'submissions_update', context_type: 'Course', context_id: 1001, user_id: 1, message: null });
      expect(p.url).toBe(`${sb.url}/api/v1/progress/${p.id}`);
      expect('results' in p).toBe(false);
      const running = await poll(p.id);
      expect(running.workflow_state).toBe('running');
      expect((await submissionOf('7001', 5)).score).toBeNull();
      const done = await poll(p.id);
      expect(done).toMatchObject({ workflow_state: 'completed', completion: 100, message: null });
      expect('results' in done).toBe(false);
      expect(await submissionOf('7001', 5)).toMatchObject({ score: 88, grade: '88', workflow_state: 'graded', grader_id: 1 });
      expect((await submissionOf('7001', 5)).posted_at).not.toBeNull();
      expect(sb.control.counters().writes).toEqual({ updateGrades: 1, gradesStored: 1, assignmentsCreated: 0 });
    });

    it('unknown, unenrolled and concluded students are refused, the others graded (inactive included); Progress failed', async () => {
      const body = ['5', 'sis_user_id:S0000009', '10', '21', '999999'].map((k, i) => `grade_data[${encodeURIComponent(k)}][posted_grade]=${70 + i}`).join('&');
      const p = await finish((await (await grade('7001', body)).json()) as Progress);
      expect(p.workflow_state).toBe('failed');
      expect(p.message).toBe("Couldn't find User(s) with API ids '10', '21', '999999'");
      expect((await submissionOf('7001', 5)).score).toBe(70);
      expect((await submissionOf('7001', 9)).score).toBe(71);
      expect(await submissionOf('7001', 10)).toBeUndefined();
    });

    it('manual post policy: grade stored but posted_at null, hidden from the student with its comment until posted', async () => {
      const p = await finish((await (await grade('7002', 'grade_data[5][posted_grade]=64&grade_data[5][text_comment]=See+me')).json()) as Progress);
      expect(p.workflow_state).toBe('completed');
      const teacherView = await getJson<Sub[]>('/api/v1/courses/1001/assignments/7002/submissions?include[]=submission_comments&per_page=100');
      expect(teacherView.find((s) => s.user_id === 5)).toMatchObject({ score: 64, posted_at: null, submission_comments: [{ comment: 'See me' }] });
      const own = async () => (await getJson<Sub[]>('/api/v1/courses/1001/students/submissions?assignment_ids[]=7002&include[]=submission_comments', student))[0]!;
      expect(await own()).toMatchObject({ score: null, grade: null, posted_at: null, submission_comments: [] });
      expect(sb.control.postGrades({ assignmentId: '7002' })).toBe(1);
      expect(await own()).toMatchObject({ score: 64, grade: '64', submission_comments: [{ comment: 'See me' }] });
    });

    it('the multi-assignment route takes grade_data[<assignment>][<student>]', async () => {
      const r = await post('/api/v1/courses/1001/submissions/update_grades', 'grade_data[7001][14][posted_grade]=90%25');
      const p = await finish((await r.json()) as Progress);
      expect(p.workflow_state).toBe('completed');
      expect((await submissionOf('7001', 14)).score).toBe(90);
    });
  });

  describe('reading submissions back', () => {
    it('per assignment: every visible student, ordered by user id, student_ids[] ignored', async () => {
      const subs = await getJson<Sub[]>('/api/v1/courses/1001/assignments/7001/submissions?student_ids[]=5&per_page=100');
      const ids = subs.map((s) => s.user_id);
      expect(ids.length).toBeGreaterThan(5);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids).toEqual(expect.arrayContaining([5, 9, 13]));
      expect(ids).not.toContain(10);
    });

    it('students/submissions takes student_ids[]=all and assignment_ids[]', async () => {
      const subs = await getJson<Sub[]>('/api/v1/courses/1001/students/submissions?student_ids[]=all&assignment_ids[]=7001&per_page=100');
      expect(subs.every((s) => s.assignment_id === 7001)).toBe(true);
      expect(subs.find((s) => s.user_id === 5)!.score).toBe(70);
      expect(new Set(subs.map((s) => s.user_id)).size).toBe(subs.length);
      expect((await apiGet(sb, '/api/v1/courses/1001/students/submissions?student_ids[]=9', student)).status).toBe(401);
    });
  });

  describe('scopes', () => {
    afterAll(() => {
      sb.control.setKey({ requireScopes: false });
    });

    it('a scoped token needs the grade scopes for these endpoints', async () => {
      sb.control.setKey({ requireScopes: true });
      const rosterOnly = (await getTokens(sb, 'admin', { scope: DEMO_SCOPES.join(' ') })).access_token;
      const r = await grade('7001', 'grade_data[5][posted_grade]=1', rosterOnly);
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({ errors: [{ message: 'Insufficient scopes on access token.' }] });
      expect((await apiGet(sb, '/api/v1/progress/1', rosterOnly)).status).toBe(401);
      const graded = (await getTokens(sb, 'admin', { scope: [...DEMO_SCOPES, ...DEMO_GRADE_SCOPES].join(' ') })).access_token;
      const ok = await grade('7001', 'grade_data[5][posted_grade]=77', graded);
      expect(ok.status).toBe(200);
      const p = (await ok.json()) as Progress;
      expect((await apiGet(sb, `/api/v1/progress/${p.id}`, graded)).status).toBe(200);
      expect((await apiGet(sb, '/api/v1/courses/1001/assignments?search_term=mid', graded)).status).toBe(200);
      expect(sb.control.runJobs()).toBe(1);
      sb.control.setKey({ requireScopes: false });
      expect((await submissionOf('7001', 5)).score).toBe(77);
    });
  });
});
