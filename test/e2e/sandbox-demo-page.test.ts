import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { CanvasSandbox } from '../../src/simulator/sandbox.js';
import { join } from 'node:path';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { startSandbox } from '../simulator/sandbox-helpers.js';

/**
 * The sandbox's demo page in Chromium: its script runs under the strict CSP (no violation), and
 * each button changes the world and says what changed.
 */
describe('the sandbox demo page (chromium)', () => {
  let sb: CanvasSandbox;
  let browser: Browser;
  let page: Page;
  const cspErrors: string[] = [];
  const shots = screenshotFolder('demo-flow');

  beforeAll(async () => {
    sb = await startSandbox({ latencyMs: 0 });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await sb?.stop();
    shots.cleanup();
  });

  const changed = async () => (await page.locator('#what-changed').textContent()) ?? '';

  it('picks a course, adds, drops, moves, changes a role, renames and unpublishes, each showing what changed', async () => {
    await page.goto(`${sb.url}/__sandbox/`);
    // Picking a course submits the picker (the page's script), no button press needed.
    await Promise.all([page.waitForURL((u) => u.searchParams.get('course') === '1001'), page.selectOption('#course', '1001')]);
    await page.waitForSelector('#enrollments');

    // Add a student.
    await page.fill('#new-name', 'Sam Newstudent');
    await page.fill('#new-sis', 'S-E2E-1');
    await Promise.all([page.waitForEvent('load'), page.click('#add-student')]);
    expect(await changed()).toMatch(/Add a student: Sam Newstudent \(user \d+, login user\d+, SIS S-E2E-1\) enrolled as StudentEnrollment, active/);
    const added = sb.world.enrollments.at(-1)!;
    expect(sb.state.user(added.userId)!.sisUserId).toBe('S-E2E-1');
    await page.screenshot({ path: join(shots.dir, '01-sandbox-demo-page.png'), clip: { x: 0, y: 0, width: 1200, height: 700 } });
    expect(await page.locator(`tr[data-enrollment="${added.id}"]`).textContent()).toContain('Sam Newstudent');

    // Drop a student.
    const student = sb.world.enrollments.find((e) => e.courseId === '1001' && e.type === 'StudentEnrollment' && e.state === 'active' && e.id !== added.id)!;
    await Promise.all([page.waitForEvent('load'), page.click(`tr[data-enrollment="${student.id}"] button[data-control="dropEnrollment"]`)]);
    expect(await changed()).toContain('state: active → deleted');
    expect(student.state).toBe('deleted');

    // Move the new student to the other section.
    const from = added.sectionId;
    const other = sb.world.sections.find((s) => s.courseId === '1001' && s.id !== from)!;
    await page.selectOption(`#move-${added.id}`, other.id);
    await Promise.all([page.waitForEvent('load'), page.click(`tr[data-enrollment="${added.id}"] button[data-control="moveEnrollment"]`)]);
    expect(await changed()).toContain(`sectionId: ${from} → ${other.id}`);
    expect(added.sectionId).toBe(other.id);

    // Make a teacher a student.
    const teacher = sb.world.enrollments.find((e) => e.courseId === '1001' && e.type === 'TeacherEnrollment' && e.state === 'active')!;
    await page.selectOption(`#role-${teacher.id}`, 'StudentEnrollment');
    await Promise.all([page.waitForEvent('load'), page.click(`tr[data-enrollment="${teacher.id}"] button[data-control="changeRole"]`)]);
    expect(await changed()).toContain('type: TeacherEnrollment → StudentEnrollment');
    expect(teacher).toMatchObject({ type: 'StudentEnrollment', role: 'StudentEnrollment' });

    // Rename, then unpublish.
    await page.fill('#course-name', 'Exam Prep (renamed)');
    await Promise.all([page.waitForEvent('load'), page.click('#rename')]);
    expect(await changed()).toMatch(/name: .+ → Exam Prep \(renamed\)/);
    await Promise.all([page.waitForEvent('load'), page.click('#publish')]);
    expect(await changed()).toContain('workflowState: available → claimed');
    expect(await page.locator('#course-state').textContent()).toBe('unpublished (claimed)');
    expect(sb.world.courses.find((c) => c.id === '1001')).toMatchObject({ name: 'Exam Prep (renamed)', workflowState: 'claimed' });

    expect(cspErrors).toEqual([]);
  });

  it('says why a control refused, without reloading', async () => {
    await page.goto(`${sb.url}/__sandbox/?course=1001`);
    const live = sb.world.enrollments.find((e) => e.courseId === '1001' && e.state === 'active')!;
    // A section the control refuses (not one of this course's): the page shows the control's reason.
    await page.evaluate((id) => {
      const select = document.getElementById(`move-${id}`) as HTMLSelectElement;
      select.add(new Option('elsewhere', '999999'));
      select.value = '999999';
    }, live.id);
    await page.click(`tr[data-enrollment="${live.id}"] button[data-control="moveEnrollment"]`);
    await page.waitForSelector('#what-changed.failed');
    expect(await changed()).toContain('section 999999 is not a section of course 1001');
  });
});
