import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { startSandbox } from './sandbox-helpers.js';

/** The sandbox's demo page `GET /__sandbox/`: picks a course, renders buttons over the world controls, strict CSP. */
describe('sandbox demo page', () => {
  let sb: CanvasSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ latencyMs: 0 });
  });
  afterAll(async () => {
    await sb.stop();
  });

  const get = async (path: string) => {
    const res = await fetch(`${sb.url}${path}`);
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const control = async (method: string, args: unknown) => {
    const res = await fetch(`${sb.url}/__sandbox/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
    return { status: res.status, body: (await res.json()) as { result?: any; error?: string } };
  };

  it('lists the courses in a picker, with no inline script and a strict CSP', async () => {
    const page = await get('/__sandbox/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).toContain('<option value="1001">1001 — ');
    // Every script is the page's own file; no inline handlers.
    expect(page.text.match(/<script[^>]*>/g)).toEqual(['<script src="/__sandbox/demo.js" defer>']);
    expect(page.text).not.toMatch(/\son[a-z]+="/);
    expect(page.text).not.toMatch(/<style/);
  });

  it('renders a course with every action, each naming an existing control', async () => {
    const page = await get('/__sandbox/?course=1001');
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="course-state">published<');
    // The new student's SIS id is pre-filled with the id addUser will pick, so the service can identify them.
    const next = Math.max(...sb.world.users.map((u) => Number(u.id))) + 1;
    expect(page.text).toContain(`id="new-sis" value="S-NEW-${next}"`);
    const controls = new Set([...page.text.matchAll(/data-control="([^"]+)"/g)].map((m) => m[1]));
    expect([...controls].sort()).toEqual(['addStudent', 'changeRole', 'concludeEnrollment', 'dropEnrollment', 'moveEnrollment', 'updateCourse']);
    // addStudent and changeRole are the script's names for addUser+enroll and updateEnrollment; the rest are controls.
    for (const c of ['dropEnrollment', 'concludeEnrollment', 'moveEnrollment', 'updateCourse', 'addUser', 'enroll', 'updateEnrollment']) {
      expect((await control(c, {})).body.error).not.toMatch(/unknown control method/);
    }
    const live = sb.world.enrollments.filter((e) => e.courseId === '1001' && e.state !== 'deleted').length;
    expect(page.text.match(/data-control="dropEnrollment"/g)).toHaveLength(live);
  });

  it('shows the world as the controls changed it: a drop, a rename, an unpublish, a new student', async () => {
    const target = sb.world.enrollments.find((e) => e.courseId === '1001' && e.type === 'StudentEnrollment' && e.state === 'active')!;
    expect((await control('dropEnrollment', { enrollmentId: target.id })).status).toBe(200);
    expect((await control('updateCourse', { courseId: '1001', name: 'Renamed <b>course</b>', published: false })).status).toBe(200);
    const user = (await control('addUser', { name: 'Sam Newstudent', sisUserId: 'S-NEW-1' })).body.result;
    const enrolled = (await control('enroll', { userId: user.id, courseId: '1001' })).body.result;

    const page = await get('/__sandbox/?course=1001');
    const row = (id: string) => new RegExp(`<tr data-enrollment="${id}"[^]*?</tr>`).exec(page.text)?.[0] ?? '';
    expect(row(target.id)).toContain('<td class="state">deleted</td>');
    expect(row(target.id)).toContain('dropped');
    expect(row(target.id)).not.toContain('data-control');
    expect(row(enrolled.id)).toContain('Sam Newstudent');
    expect(row(enrolled.id)).toContain('S-NEW-1');
    expect(page.text).toContain('Renamed &lt;b&gt;course&lt;/b&gt;');
    expect(page.text).not.toContain('<b>course</b>');
    expect(page.text).toContain('id="course-state">unpublished (claimed)<');
    expect(page.text).toMatch(/id="publish"[^>]*>Publish</);
  });

  it('serves its script and stylesheet, and answers an unknown course with 404', async () => {
    const js = await get('/__sandbox/demo.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.text).toContain("fetch('/__sandbox/' + method");
    const css = await get('/__sandbox/demo.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const missing = await get('/__sandbox/?course=999999');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('No course 999999');
    // The controls keep answering as before next to the page.
    expect((await get('/__sandbox/counters')).status).toBe(200);
    expect((await fetch(`${sb.url}/__sandbox/nope`, { method: 'POST' })).status).toBe(404);
  });
});
