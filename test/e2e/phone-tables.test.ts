import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { Job } from '../../src/jobs/types.js';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

const shots = screenshotFolder('phone');
const PHONE = { width: 390, height: 844 };

/**
 * The tables a person checks on a phone (integrations, jobs, the sync list, a course's sections and
 * skipped people) at 390 px: each row's status / outcome / "why not" cell is inside the viewport,
 * and the page does not scroll sideways.
 */
describe('tables on a 390 px phone (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;

  const waitEnd = async (job: Job) => {
    for (let j = job; j.state === 'queued' || j.state === 'running'; j = (await h.c.sync.jobs.get(job.id))!) {
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 24 });
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration({ name: 'Demo State University' });
    await h.authorize(id);
    await h.createIntegration({ name: 'Northfield Community College of the Applied and Liberal Arts' });
    await waitEnd(await h.c.sync.startRefresh(id));
    await waitEnd(await h.c.sync.startSync(id, ['1001']));
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
    shots.cleanup();
  });

  /** Every status cell of the table is fully within the 390 px viewport's width. */
  async function statusCellsOnScreen(table: string): Promise<number> {
    const cells = page.locator(`${table} tbody tr [data-cell="status"]`);
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

  it('wide screens keep the tables as tables', async () => {
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${h.appUrl}/jobs`);
    expect(await page.locator('#jobs thead').evaluate((e) => getComputedStyle(e).display)).toBe('table-header-group');
    await page.setViewportSize(PHONE);
  });
});
