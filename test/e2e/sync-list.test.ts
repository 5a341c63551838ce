import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';
import { until } from '../support/instances.js';

/**
 * The sync list page in a browser: add from the courses page, import with a preview of every row
 * before anything changes, apply once (a reload never applies again), sync now with progress, the
 * schedule, remove, export.
 */
const shots = screenshotFolder('sync-list');

describe('the sync list page (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;
  let dir: string;
  let syncable: Array<{ canvasId: string; externalId: string }>;
  const listed = async () => (await h.c.syncList.list(id, { limit: 500 })).courses.map((c) => c.canvasId);

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 12 });
    id = await h.createIntegration({ name: 'Sync List State' });
    await h.authorize(id);
    h.c.onClose(() => h.c.sync.runner.stop());
    await h.c.sync.runner.start();
    const refresh = await h.c.sync.startRefresh(id);
    await until('the refresh ended', async () => ['succeeded', 'failed'].includes((await h.c.sync.jobs.get(refresh.id))!.state));
    syncable = (await h.c.sync.courses.listCourses(id, { syncable: true, limit: 500 })).courses.map((c) => ({ canvasId: c.canvasId, externalId: c.externalId! }));
    expect(syncable.length).toBeGreaterThan(4);
    await h.c.staff.create({ email: 'list-e2e@example.edu', name: 'Lee List', password: 'sync list e2e staff passphrase' });
    dir = mkdtempSync(join(tmpdir(), 'cc-sync-list-e2e-'));
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.appUrl}/login`);
    await page.fill('#email', 'list-e2e@example.edu');
    await page.fill('#password', 'sync list e2e staff passphrase');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    shots.cleanup();
  });

  it('adds the selected courses from the courses page', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses`);
    for (const c of syncable.slice(0, 2)) await page.check(`tr[data-canvas-id="${c.canvasId}"] input[name="courseIds"]`);
    await page.click('#add-to-sync-list');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/courses`);
    expect(await page.locator('.flash, .notice').first().textContent()).toContain('2 courses added to the sync list');
    await page.click('#sync-list-link');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    expect(await page.locator('#sync-list tbody tr').count()).toBe(2);
    expect(await page.locator('#list-count').textContent()).toContain('2 courses');
  });

  it('previews every row of a CSV before anything changes, then applies the valid rows once', async () => {
    const file = join(dir, 'add.csv');
    writeFileSync(file, ['course_id,note', `${syncable[2]!.externalId},new`, `${syncable[0]!.externalId},listed`, 'NOPE-1,unknown', `${syncable[2]!.externalId},again`, ',blank'].join('\n'));
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    await page.setInputFiles('#import-file', file);
    await page.check('input[name="mode"][value="add"]');
    await page.click('#import-preview');
    await page.waitForURL((u) => u.pathname.includes('/sync-list/imports/'));
    const outcomes = await page.locator('#import-rows tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-line'), r.getAttribute('data-outcome')]));
    expect(outcomes).toEqual([
      ['2', 'added'],
      ['3', 'already_listed'],
      ['4', 'unknown_course'],
      ['5', 'duplicate_row'],
      ['6', 'blank'],
    ]);
    expect(await page.locator('#import-errors').textContent()).toContain('3 rows have errors');
    await page.screenshot({ path: join(shots.dir, '01-import-preview.png'), fullPage: true });
    // The preview changed nothing.
    expect(await listed()).toHaveLength(2);

    await page.click('#import-apply');
    await page.waitForSelector('#import-applied');
    const resultUrl = page.url();
    expect(await listed()).toHaveLength(3);
    const imported = async () => (await h.c.audit.list(id, 50)).filter((e) => e.action === 'sync_list.imported').length;
    expect(await imported()).toBe(1);
    // Post/Redirect/Get: a reload shows the outcome and never applies the file again.
    const res = await page.reload();
    expect(res!.status()).toBe(200);
    expect(page.url()).toBe(resultUrl);
    expect(await page.locator('#import-applied').count()).toBe(1);
    expect(await page.locator('#import-apply').count()).toBe(0);
    expect(await imported()).toBe(1);
  });

  it('previews an XLSX replace: listed courses missing from the file show as removals without a line', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('List');
    ws.addRow(['course_id']);
    ws.addRow([syncable[3]!.externalId]);
    const file = join(dir, 'replace.xlsx');
    writeFileSync(file, Buffer.from(await wb.xlsx.writeBuffer()));
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    await page.setInputFiles('#import-file', file);
    await page.check('input[name="mode"][value="replace"]');
    await page.click('#import-preview');
    await page.waitForSelector('#import-rows');
    const rows = await page.locator('#import-rows tbody tr').evaluateAll((trs) => trs.map((r) => [r.getAttribute('data-line'), r.getAttribute('data-outcome')]));
    expect(rows).toEqual([['2', 'added'], ['—', 'removed'], ['—', 'removed'], ['—', 'removed']]);
    expect(await page.locator('#import-summary').textContent()).toContain('the list would hold 1 course.');
    expect(await listed()).toHaveLength(3);
  });

  it('says what is wrong with a file that has no course_id column', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'id\n1001\n');
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    await page.setInputFiles('#import-file', file);
    await page.click('#import-preview');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    expect(await page.locator('body').textContent()).toContain('no "course_id" column');
  });

  it('syncs now, and shows the run and each course’s last sync when it ends', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    await page.click('#sync-now');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'sync_list_sync', limit: 1 }))[0]!;
    await until('the sync list run ended', async () => (await h.c.sync.jobs.get(job.id))!.state === 'succeeded');
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    expect(await page.locator('#last-sync').textContent()).toContain('3 of 3 courses synced');
    const never = await page.locator('#sync-list td[data-label="Last synced"]').allTextContents();
    expect(never.every((t) => !t.includes('never'))).toBe(true);
    await page.screenshot({ path: join(shots.dir, '02-sync-list.png'), fullPage: true });
  });

  it('saves the schedule, and refuses one under 15 minutes', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    await page.check('#schedule-enabled');
    await page.fill('#schedule-every', '30');
    await page.click('#schedule-save');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    expect(await page.locator('#schedule-state').textContent()).toContain('every 30 minutes');
    expect((await h.c.integrations.get(id))!.syncSchedule).toEqual({ everyMinutes: 30 });
    await page.fill('#schedule-every', '5');
    // The browser's own min check is bypassed to reach the server's.
    await page.locator('#schedule-every').evaluate((el) => el.removeAttribute('min'));
    await page.click('#schedule-save');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    expect(await page.locator('body').textContent()).toContain('at least 15');
    // Focus is on the flashed error, as on a form's error summary.
    await page.waitForLoadState('load');
    expect(await page.evaluate(() => (document.activeElement?.getAttribute('role') === 'alert' ? document.activeElement.textContent : null))).toContain('at least 15');
    expect((await h.c.integrations.get(id))!.syncSchedule).toEqual({ everyMinutes: 30 });
  });

  it('removes the selected courses and exports the list', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/sync-list`);
    const first = (await listed())[0]!;
    await page.check(`#sync-list tr[data-canvas-id="${first}"] input[name="courseIds"]`);
    await page.click('#remove-selected');
    await page.waitForURL((u) => u.pathname === `/integrations/${id}/sync-list`);
    expect(await listed()).toHaveLength(2);
    const csv = await page.request.get(`${h.appUrl}/integrations/${id}/sync-list/export?format=csv`);
    expect(csv.status()).toBe(200);
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toMatch(/^course_id,canvas_id,name,course_code,term,/);
    expect(text.trim().split('\r\n')).toHaveLength(3);
  });
});
