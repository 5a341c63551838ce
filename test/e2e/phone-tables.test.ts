import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { Job } from '../../src/jobs/types.js';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';
import { mintSessionCookie } from '../support/session-cookie.js';
import { startReceiver } from '../support/webhook-receiver.js';

const shots = screenshotFolder('phone');
const PHONE = { width: 390, height: 844 };

/**
 * The tables a person checks on a phone (integrations, jobs, the course list, a course's sections,
 * skipped people, course admins and exams posted, the sync list and its import preview, webhooks and
 * their delivery log, the change lists) at 390 px: each row's status / outcome / "why not" cell is
 * inside the viewport, and the page does not scroll sideways.
 */
describe('tables on a 390 px phone (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;
  let importId: string;
  let failingHook: string;
  let syncJob: string;
  let receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];

  const waitEnd = async (job: Job) => {
    for (let j = job; j.state === 'queued' || j.state === 'running'; j = (await h.c.sync.jobs.get(job.id))!) {
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 24 });
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    h.c.webhooks.worker.start();
    h.c.onClose(() => h.c.webhooks.worker.stop());
    // Two endpoints: one that takes the events, one that answers 500 (its rows carry the error).
    receivers = [await startReceiver(), await startReceiver(() => 500)];
    await h.c.webhooks.service.create({ url: receivers[0]!.url, events: ['integration.status_changed', 'job.finished', 'grades.posted', 'roster.changed'] }, 'phone-e2e');
    failingHook = (await h.c.webhooks.service.create({ url: `${receivers[1]!.url}/a-rather-long-path/that-a-phone-must-wrap?tenant=demo-state-university`, events: ['integration.status_changed', 'job.finished'] }, 'phone-e2e')).endpoint.id;
    id = await h.createIntegration({ name: 'Demo State University', features: ['course_refresh', 'roster_sync', 'grade_passback'] });
    await h.authorize(id);
    await h.createIntegration({ name: 'Northfield Community College of the Applied and Liberal Arts' });
    await waitEnd(await h.c.sync.startRefresh(id));
    const sync = await h.c.sync.startSync(id, ['1001']);
    syncJob = sync.id;
    await waitEnd(sync);
    await h.c.apiTokens.create({ name: 'exam-sync job on the platform team server' });
    await h.c.apiTokens.revoke((await h.c.apiTokens.create({ name: 'old token' })).info.id);
    // An exam posted to course 1001's gradebook, with one score for nobody in the course.
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster`);
    const takers = (roster.body.examTakers as Array<{ externalId: string }>).map((p) => p.externalId);
    const post = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/grade-posts`, {
      exam: { key: 'midterm-2026', title: 'Midterm examination (Fall 2026)', pointsPossible: 100 },
      scores: [...takers.slice(0, 3).map((u, k) => ({ userExternalId: u, score: 70 + k })), { userExternalId: 'NO-SUCH-PERSON-WITH-A-LONG-ID', score: 50 }],
    });
    await waitEnd((await h.c.sync.jobs.get(post.body.id))!);
    // The sync list: three courses, and an import waiting for its preview to be applied.
    const syncable = (await h.c.sync.courses.listCourses(id, { syncable: true, limit: 500 })).courses;
    await h.c.syncList.change(id, { add: syncable.slice(0, 3).map((c) => c.canvasId) }, 'phone-e2e');
    const csv = ['course_id', ...syncable.slice(3, 6).map((c) => c.externalId), 'NOT-A-COURSE-IN-THIS-CANVAS', ''].join('\n');
    importId = (await h.c.syncList.upload(id, Buffer.from(csv), { mode: 'add', fileName: 'fall-2026-exams.csv' }, 'phone-e2e')).id;
    await h.c.staff.create({ email: 'phone-e2e@example.edu', name: 'Pat Phone', password: 'phone e2e staff passphrase' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.appUrl}/login`);
    await page.fill('#email', 'phone-e2e@example.edu');
    await page.fill('#password', 'phone e2e staff passphrase');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    for (const r of receivers) await r.close();
    shots.cleanup();
  });

  /** Every status cell of the table (or the cells `cell` names) is fully within the 390 px viewport's width. */
  async function statusCellsOnScreen(table: string, cell = '[data-cell="status"]'): Promise<number> {
    const cells = page.locator(`${table} tbody tr ${cell}`);
    const n = await cells.count();
    expect(n).toBeGreaterThan(0);
    for (let k = 0; k < n; k++) {
      const cell = cells.nth(k);
      if (!(await cell.isVisible())) continue;
      const box = (await cell.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    return n;
  }

  it('integrations: the status badge is on screen', async () => {
    await page.goto(`${h.appUrl}/integrations`);
    expect(await statusCellsOnScreen('#integrations')).toBe(2);
    expect(await page.locator('#integrations [data-cell="status"]').first().textContent()).toMatch(/Verified|Not connected|Connected/i);
    await page.screenshot({ path: join(shots.dir, '01-integrations.png'), fullPage: true });
  });

  it('jobs: the outcome is on screen', async () => {
    await page.goto(`${h.appUrl}/jobs`);
    expect(await statusCellsOnScreen('#jobs')).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(shots.dir, '02-jobs.png'), fullPage: true });
  });

  it('the sync list: "syncable" and "why not" are on screen', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses`);
    await statusCellsOnScreen('#courses');
    const why = page.locator('#courses tr[data-canvas-id="1002"] [data-reason="unpublished"]');
    const box = (await why.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await page.locator('#courses tr[data-canvas-id="1002"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots.dir, '03-courses.png'), fullPage: false });
  });

  it("a course: each section's and skipped person's reason is on screen", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    await statusCellsOnScreen('#sections');
    await statusCellsOnScreen('#skipped');
    await page.locator('#skipped').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots.dir, '04-course-skipped.png'), fullPage: false });
  });

  it('the audit log reads as cards, each sentence on screen; the integration tabs and the course pager fit too', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/audit`);
    expect(await statusCellsOnScreen('#audit')).toBeGreaterThan(2);
    const tabs = page.locator('[data-nav="integration"] a');
    for (let k = 0; k < (await tabs.count()); k++) {
      const box = (await tabs.nth(k).boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    }
    await page.screenshot({ path: join(shots.dir, '05-audit-log.png'), fullPage: false });
    await page.goto(`${h.appUrl}/integrations/${id}/courses?limit=10&page=2`);
    for (const sel of ['#prev-page', '#next-page', '#sync-all']) {
      const box = (await page.locator(sel).boundingBox())!;
      expect([sel, box.x + box.width <= PHONE.width]).toEqual([sel, true]);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.goto(`${h.appUrl}/integrations/${id}/course-sync-all`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  });

  it("a course: the course admins' role and each exam's outcomes are on screen, and the recent changes wrap", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    expect(await statusCellsOnScreen('#course-admins')).toBeGreaterThan(0);
    expect(await statusCellsOnScreen('#grade-posts .grade-outcomes')).toBe(4);
    // A posted score has no detail: its card shows no empty "Detail" line.
    expect(await page.locator('#grade-posts tr[data-outcome="posted"] td[data-label="Detail"]').first().isVisible()).toBe(false);
    const summary = (await page.locator('#grade-posts summary').first().boundingBox())!;
    expect(summary.x + summary.width).toBeLessThanOrEqual(PHONE.width);
    expect(await page.locator('#recent-changes li').count()).toBeGreaterThan(0);
    const change = (await page.locator('#recent-changes li').first().boundingBox())!;
    expect(change.x + change.width).toBeLessThanOrEqual(PHONE.width);
    await page.locator('#grade-posts').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots.dir, '06-course-grade-posts.png'), fullPage: false });
  });

  it("the sync list: each course's state, and each import row's outcome, are on screen", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    expect(await statusCellsOnScreen('#sync-list')).toBe(3);
    const change = (await page.locator('#recent-changes li').first().boundingBox())!;
    expect(change.x + change.width).toBeLessThanOrEqual(PHONE.width);
    await page.locator('#sync-list').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots.dir, '07-sync-list.png'), fullPage: false });
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list/imports/${importId}`);
    expect(await statusCellsOnScreen('#import-rows')).toBe(4);
    await page.screenshot({ path: join(shots.dir, '08-sync-list-import-preview.png'), fullPage: true });
  });

  it("webhooks: each endpoint's status and each delivery's outcome are on screen", async () => {
    await page.goto(`${h.appUrl}/webhooks`);
    expect(await statusCellsOnScreen('#webhooks')).toBe(2);
    for (let k = 0; ; k++) {
      await page.goto(`${h.appUrl}/webhooks/${failingHook}`);
      if ((await page.locator('#deliveries tbody tr').count()) > 0) break;
      if (k > 200) throw new Error('no delivery was logged');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await statusCellsOnScreen('#deliveries')).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots.dir, '09-webhook-deliveries.png'), fullPage: true });
  });

  it("API tokens: each token's status (5th of 6 columns) is on screen", async () => {
    await page.goto(`${h.appUrl}/settings/api-tokens`);
    expect(await statusCellsOnScreen('#tokens')).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(shots.dir, '10-api-tokens.png'), fullPage: true });
  });

  it("the API reference: each field's notes are on screen and the page does not scroll sideways", async () => {
    await page.goto(`${h.appUrl}/docs/api`);
    expect(await statusCellsOnScreen('.api-fields')).toBeGreaterThan(10);
  });

  it("a job's page: each course's outcome is on screen", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/jobs/${syncJob}`);
    expect(await statusCellsOnScreen('#job-courses')).toBe(1);
  });

  it("the instructor's course page inside Canvas: each person's sections and each skipped person's reason are on screen", async () => {
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const cookie = await mintSessionCookie(h.c, { ltiCourse: { integrationId: id, courseId: '1001', via: 'lti' } });
    const eq = cookie.indexOf('=');
    await context.addCookies([{ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url: h.appUrl }]);
    const lti = await context.newPage();
    const saved = page;
    page = lti;
    try {
      await page.goto(`${h.appUrl}/launch/course`);
      expect(await statusCellsOnScreen('#lti-exam-takers')).toBeGreaterThan(0);
      expect(await statusCellsOnScreen('#lti-skipped')).toBeGreaterThan(0);
      await page.locator('#lti-skipped').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(shots.dir, '11-lti-course.png'), fullPage: false });
    } finally {
      page = saved;
      await context.close();
    }
  });

  it('wide screens keep the tables as tables', async () => {
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${h.appUrl}/jobs`);
    expect(await page.locator('#jobs thead').evaluate((e) => getComputedStyle(e).display)).toBe('table-header-group');
    await page.setViewportSize(PHONE);
  });
});
