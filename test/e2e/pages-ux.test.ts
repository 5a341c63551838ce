import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

const shots = screenshotFolder('pages');
const SHOTS = shots.dir;

/**
 * Pages that behave like pages, in Chromium: one navigation per role, the course list at scale
 * (paging, filters that survive it, select all, sync every syncable course after a confirmation),
 * readable history, advice that fits the person, and focus on the error summary.
 */
describe('navigation, course list at scale and readable history (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let staff: Page;
  let id: string;
  let other: string;

  async function waitForJobs() {
    for (let i = 0; i < 1200; i++) {
      const open = (await h.c.sync.jobs.list({ limit: 50 })).filter((j) => j.state === 'queued' || j.state === 'running');
      if (open.length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('jobs did not finish');
  }

  async function newPage(context?: BrowserContext): Promise<Page> {
    const page = await (context ?? (await browser.newContext({ viewport: { width: 1100, height: 900 } }))).newPage();
    page.setDefaultTimeout(30_000);
    page.on('dialog', (d) => void d.accept());
    return page;
  }

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 160 });
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration({ name: 'Demo State University' });
    other = await h.createIntegration({ name: 'Other College' });
    await h.authorize(id);
    await h.c.sync.startRefresh(id);
    await waitForJobs();
    await h.c.sync.syncRoster(id, '1001', {});
    await h.c.staff.create({ email: 'pages-e2e@example.edu', name: 'Pat Pages', password: 'pages e2e staff passphrase' });
    browser = await launchChromium();
    staff = await newPage();
    await staff.goto(`${h.appUrl}/login`);
    await staff.fill('#email', 'pages-e2e@example.edu');
    await staff.fill('#password', 'pages e2e staff passphrase');
    await staff.click('button[type="submit"]');
    await staff.waitForURL((u) => !u.pathname.startsWith('/login'));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  const mainLinks = (p: Page) => p.locator('.site-nav a').allTextContents();
  const tabs = (p: Page) => p.locator('[data-nav="integration"] a').allTextContents();
  const currentTab = (p: Page) => p.locator('[data-nav="integration"] a[aria-current="page"]').allTextContents();

  it('staff: the header holds the staff links, every integration page (course and job pages too) its tabs, and the title names the integration', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}`);
    expect(await mainLinks(staff)).toEqual(['Integrations', 'Jobs', 'Webhooks', 'API tokens', 'API reference']);
    expect(await tabs(staff)).toEqual(['LMS settings', 'Configure', 'Courses', 'Sync list', 'LTI', 'Scoped token', 'Troubleshooting', 'Audit log']);
    expect(await currentTab(staff)).toEqual(['LMS settings']);
    expect(await staff.locator('[data-nav="integration"] .subnav__title').textContent()).toBe('Demo State University');
    expect(await staff.title()).toBe('Demo State University · canvas-companion');
    await staff.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    expect(await tabs(staff)).toContain('Courses');
    expect(await currentTab(staff)).toEqual(['Courses']);
    await staff.goto(`${h.appUrl}/integrations`);
    expect(await staff.locator('[data-nav="integration"]').count()).toBe(0);
    // A page for an integration that does not exist shows no tabs for it.
    expect((await staff.goto(`${h.appUrl}/integrations/no-such-integration/configure`))!.status()).toBe(404);
    expect(await staff.locator('[data-nav="integration"]').count()).toBe(0);
    await staff.goto(`${h.appUrl}/integrations`);
    expect(await staff.locator('.site-nav a[aria-current="page"]').allTextContents()).toEqual(['Integrations']);
    await staff.screenshot({ path: join(SHOTS, '01-staff-navigation.png') });
  });

  it('a Canvas admin (setup link) sees only their integration’s tabs, and can open every one of them', async () => {
    const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
    const admin = await newPage();
    await admin.goto(link.body.url);
    expect(await mainLinks(admin)).toEqual([]);
    const hrefs = await admin.locator('[data-nav="integration"] a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(hrefs.length).toBeGreaterThan(3);
    for (const href of hrefs) {
      const res = await admin.goto(href);
      expect([href, res!.status()]).toEqual([href, 200]);
      expect(await tabs(admin)).toHaveLength(hrefs.length);
    }
    await admin.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    expect(await currentTab(admin)).toEqual(['Courses']);
    await admin.screenshot({ path: join(SHOTS, '02-canvas-admin-navigation.png') });
    // Another integration's page: no tabs of it (the page itself is refused).
    const res = await admin.goto(`${h.appUrl}/integrations/${other}`);
    expect(res!.status()).toBe(403);
    expect(await admin.locator('[data-nav="integration"]').count()).toBe(0);
    await admin.context().close();
  });

  it('the course list pages with previous/next and "courses 51–100 of N", and filters survive paging', async () => {
    const total = (await h.c.sync.courses.countsFor(id)).courses;
    const syncable = (await h.c.sync.courses.countsFor(id)).syncable;
    expect(total).toBeGreaterThan(150);
    await staff.goto(`${h.appUrl}/integrations/${id}/courses`);
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(await staff.locator('#course-range strong').textContent()).toBe(`Courses 1–50 of ${fmt(total)}`);
    expect(await staff.locator('#prev-page').count()).toBe(0);
    await staff.click('#next-page');
    expect(await staff.locator('#course-range strong').textContent()).toBe(`Courses 51–100 of ${fmt(total)}`);
    const firstOfPage2 = await staff.locator('#courses tbody tr').first().getAttribute('data-canvas-id');
    await staff.click('#prev-page');
    expect(await staff.locator('#course-range strong').textContent()).toBe(`Courses 1–50 of ${fmt(total)}`);
    expect(await staff.locator('#courses tbody tr').first().getAttribute('data-canvas-id')).not.toBe(firstOfPage2);
    // Filters: syncable only, then a search; both stay in the links, the form and after paging.
    await staff.selectOption('#f-syncable', 'true');
    await staff.click('#filters button[type="submit"]');
    expect(await staff.locator('#course-range strong').textContent()).toBe(`Courses 1–50 of ${fmt(syncable)}`);
    await staff.click('#next-page');
    expect(new URL(staff.url()).searchParams.get('syncable')).toBe('true');
    expect(new URL(staff.url()).searchParams.get('page')).toBe('2');
    expect(await staff.locator('#f-syncable').inputValue()).toBe('true');
    expect(await staff.locator('#courses tr[data-syncable="false"]').count()).toBe(0);
    await staff.locator('#list-title').evaluate((e) => e.scrollIntoView());
    await staff.screenshot({ path: join(SHOTS, '03-course-list-paging.png') });
    await staff.fill('#f-q', 'Demo');
    await staff.click('#filters button[type="submit"]');
    const searched = new URL(staff.url()).searchParams;
    expect([searched.get('syncable'), searched.get('q'), searched.get('page')]).toEqual(['true', 'Demo', null]);
    const matching = await h.c.sync.courses.countCourses(id, { syncable: true, search: 'Demo' });
    expect(await staff.locator('#course-range strong').textContent()).toBe(matching === 0 ? 'No courses match' : `Courses 1–${Math.min(50, matching)} of ${matching}`);
    expect(await staff.locator('#f-q').inputValue()).toBe('Demo');
  });

  it('select all checks every syncable course on the page and the sync lands on its job; sent with nothing selected, the same filtered page comes back', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}/courses?syncable=true&page=2`);
    await staff.click('#sync-selected');
    expect(await staff.locator('.notice--error').textContent()).toContain('Select at least one');
    expect(new URL(staff.url()).search).toBe('?syncable=true&page=2');
    const boxes = staff.locator('#courses input[name="courseIds"]');
    expect(await boxes.count()).toBe(50);
    await staff.check('#select-all');
    expect(await staff.locator('#courses input[name="courseIds"]:checked').count()).toBe(50);
    await staff.uncheck('#select-all');
    expect(await staff.locator('#courses input[name="courseIds"]:checked').count()).toBe(0);
    await staff.check('#select-all');
    await staff.click('#sync-selected');
    await staff.waitForURL(/\/jobs\//);
    expect(await staff.locator('.notice--ok').textContent()).toContain('Roster sync of 50 courses started');
    await waitForJobs();
  });

  it('"sync every syncable course" says how many, asks to confirm, and starts one job with all of them', async () => {
    const syncable = (await h.c.sync.courses.countsFor(id)).syncable;
    await staff.goto(`${h.appUrl}/integrations/${id}/courses`);
    expect(await staff.locator('#sync-all').textContent()).toContain(`(${syncable})`);
    await staff.click('#sync-all');
    expect(await staff.locator('h2#confirm-title').textContent()).toBe(`Sync the rosters of ${syncable} courses?`);
    await staff.screenshot({ path: join(SHOTS, '04-sync-all-confirm.png') });
    const jobsBefore = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length;
    // Cancel leaves everything as it was.
    await staff.click('text=Cancel');
    expect(new URL(staff.url()).pathname).toBe(`/integrations/${id}/courses`);
    expect((await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length).toBe(jobsBefore);
    await staff.click('#sync-all');
    await staff.click('#confirm-sync-all');
    await staff.waitForURL(/\/jobs\//);
    const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 1 }))[0]!;
    expect((job.params.courseIds as string[]).length).toBe(syncable);
    expect(await staff.locator('.notice--ok').textContent()).toContain(`every syncable course (${syncable})`);
    await waitForJobs();
  });

  it('a confirmation made before the list changed asks again instead of syncing a different set', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}/course-sync-all`);
    const confirmed = Number(await staff.locator('input[name="expected"]').inputValue());
    await staff.locator('input[name="expected"]').evaluate((el, n) => ((el as HTMLInputElement).value = String(n)), confirmed - 1);
    const jobsBefore = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length;
    await staff.click('#confirm-sync-all');
    expect(new URL(staff.url()).pathname).toBe(`/integrations/${id}/course-sync-all`);
    expect(await staff.locator('.notice--warn').textContent()).toContain('changed since you confirmed');
    expect((await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 100 })).length).toBe(jobsBefore);
  });

  it('the skipped list advises "add it to Student roles" only for student-like roles; a concluded course says so', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    const advice = async (name: string) => (await staff.locator('#skipped tbody tr', { hasText: name }).locator('[data-reason="role_not_selected"]').textContent()) ?? '';
    for (const who of ['Assistant', 'Observer']) {
      expect(await advice(who)).toContain('is not a student role');
      expect(await advice(who)).not.toContain('Student roles');
    }
    const exam = await advice('Examstudent');
    expect(exam).toContain('Exam Student is not one of the Student roles');
    expect(exam).toContain('Canvas says it is a student role');
    expect(await staff.locator('#skipped tr', { hasText: 'Examstudent' }).locator('a', { hasText: 'Configure' }).getAttribute('href')).toBe(`/integrations/${id}/configure`);
    await staff.locator('#skipped').scrollIntoViewIfNeeded();
    await staff.screenshot({ path: join(SHOTS, '05-skipped-advice.png'), fullPage: true });
    await staff.goto(`${h.appUrl}/integrations/${id}/courses/1007`);
    expect(await staff.locator('#course-concluded').textContent()).toContain('concluded in Canvas');
    await staff.goto(`${h.appUrl}/integrations/${id}/courses?q=Concluded`);
    expect(await staff.locator('#courses tr[data-canvas-id="1007"] [data-concluded]').textContent()).toContain('concluded in Canvas');
  });

  it('the audit log reads as sentences with links, no JSON and no event names', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}/audit`);
    const text = (await staff.locator('#audit').textContent()) ?? '';
    expect(text).toContain('Created the integration “Demo State University”');
    expect(text).toMatch(/Connection status went from Pending authorization to Verified/);
    expect(text).not.toMatch(/[{}]|integration\.|status_changed|token\.issued/);
    expect(await staff.locator('#audit a', { hasText: 'LMS settings' }).first().getAttribute('href')).toBe(`/integrations/${id}`);
    await staff.screenshot({ path: join(SHOTS, '06-audit-log.png'), fullPage: true });
  });

  it('after a form error, focus is on the error summary', async () => {
    await staff.goto(`${h.appUrl}/integrations/${id}`);
    await staff.fill('#canvasUrl', 'not a url');
    await staff.click('form[action$="/settings"] button[type="submit"]:not([form])');
    await staff.waitForSelector('#form-error');
    expect(await staff.evaluate(() => document.activeElement?.id)).toBe('form-error');
    await staff.goto(`${h.appUrl}/integrations/${id}/courses`);
    await staff.fill('#lookup-query', 'not a course');
    await staff.click('#lookup-submit');
    await staff.waitForSelector('#lookup-error');
    expect(await staff.evaluate(() => document.activeElement?.id)).toBe('lookup-error');
    // The LTI key values form: its error is focused after the redirect.
    await staff.goto(`${h.appUrl}/integrations/${id}/lti`);
    await staff.fill('#lti-client-id', '170000000000001');
    await staff.fill('#lti-deployments', 'not a deployment id!');
    await staff.click('form[action$="/lti"] button[type="submit"]');
    await staff.waitForSelector('[data-form-error][data-field="deploymentIds"]');
    await staff.waitForLoadState('load');
    expect(await staff.evaluate(() => document.activeElement?.getAttribute('data-field'))).toBe('deploymentIds');
    // A flashed error (Select at least one…) is focused too.
    await staff.goto(`${h.appUrl}/integrations/${id}/courses`);
    await staff.click('#sync-selected');
    await staff.waitForSelector('[data-flash]');
    await staff.waitForLoadState('load');
    expect(await staff.evaluate(() => document.activeElement?.textContent)).toContain('Select at least one');
  });
});
