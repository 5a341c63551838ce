import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { progressLine } from '../../src/cli/commands/refresh.js';
import { describeProgress } from '../../src/jobs/describe-progress.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';


/**
 * Makes every call of `obj[key]` wait until `release()` (a job held at that step while the browser
 * reads its progress); `restore()` releases and puts the method back.
 */
function holdCalls<T extends object, K extends keyof T>(obj: T, key: K): { release(): void; restore(): void } {
  const original = obj[key] as unknown as (...args: unknown[]) => Promise<unknown>;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  obj[key] = (async (...args: unknown[]) => {
    await gate;
    return original.apply(obj, args);
  }) as T[K];
  return {
    release,
    restore() {
      release();
      obj[key] = original as unknown as T[K];
    },
  };
}

const shots = screenshotFolder('courses');
const SHOTS = shots.dir;

/**
 * Waits until the progress widget shows its job ended (progress.js then reloads the page after a
 * moment) and reads, in the same tick, what else the page says about the job then.
 */
async function endedWidget(page: Page) {
  const handle = await page.waitForFunction(
    () => {
      const state = document.getElementById('job-state')?.textContent;
      if (state === 'queued' || state === 'running' || !state) return false;
      return {
        cancel: document.getElementById('job-cancel') !== null,
        runningText: /is running/.test(document.querySelector('main')?.textContent ?? document.body.textContent ?? ''),
        badges: [...document.querySelectorAll('main .badge')].map((b) => b.textContent?.trim()).filter((t) => ['queued', 'running', 'succeeded', 'failed', 'cancelled'].includes(t ?? '')),
        label: document.getElementById('job-phase')?.textContent,
      };
    },
    undefined,
    { timeout: 60_000, polling: 20 },
  );
  return handle.jsonValue();
}

/**
 * Browser e2e of course refresh and roster sync: a Canvas admin (setup-link session) refreshes the course list and
 * watches the live progress bar (public/progress.js polling, no reload), then syncs a course and
 * reads its exam-takers and skipped people with reasons.
 */
describe('Courses pages in a real browser (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;
  const cspErrors: string[] = [];

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 160 });
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration({ name: 'Demo State University' });
    await h.authorize(id);
    browser = await launchChromium();
    const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(link.body.url);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  it('Refresh courses shows a live progress bar with a count, then the outcome and the sync list', async () => {
    // REST path (no report permission). The job is held at its first save of sections while the
    // browser watches, so the phase cannot end between two of progress.js's 1 s polls.
    h.sandbox.control.setPermissions({ userId: '1', permissions: { read_reports: false } });
    const held = holdCalls(h.c.sync.courses, 'replaceSections');
    try {
      await page.goto(`${h.appUrl}/integrations/${id}/courses`);
      expect(await page.locator('#last-refresh').textContent()).toContain('No refresh yet');
      await page.click('#refresh-courses');
      await page.waitForSelector('#job-progress');
      const beforeUrl = page.url();
      const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_refresh', limit: 1 }))[0]!;
      // The bar fills in without a page reload, under one labelled count in the units of the phase.
      await page.waitForFunction(() => /^Reading sections: [\d,]+ of [\d,]+ syncable courses$/.test(document.getElementById('job-phase')?.textContent ?? ''));
      // One read of the widget, so a later poll cannot change it between the assertions.
      const shown = await page.evaluate(() => ({
        value: (document.getElementById('job-bar') as HTMLProgressElement).value,
        max: (document.getElementById('job-bar') as HTMLProgressElement).max,
        label: document.getElementById('job-phase')?.textContent ?? '',
      }));
      const [, done, total] = /: ([\d,]+) of ([\d,]+)/.exec(shown.label)!.map((x) => Number(x.replace(/,/g, '')));
      expect(shown.value).toBe(done);
      expect(shown.max).toBe(total);
      // The CLI's bar draws the same words from the same job.
      const running = (await h.c.sync.jobs.get(job.id))!;
      expect(progressLine(running)).toContain(describeProgress(running).label);
      expect(page.url()).toBe(beforeUrl);
      await page.screenshot({ path: join(SHOTS, '01-refresh-progress.png'), fullPage: false });
    } finally {
      held.restore();
    }
    // When the job ends (before progress.js reloads the page): no Cancel, no "running" line or
    // badge left beside the succeeded one.
    const ended = await endedWidget(page);
    expect(ended).toEqual({ cancel: false, runningText: false, badges: ['succeeded'], label: 'Finished' });
    await page.waitForSelector('#refresh-courses', { timeout: 60_000 });
    expect(await page.locator('#last-refresh').textContent()).toContain('succeeded');
    expect(await page.locator('#last-refresh').textContent()).toMatch(/[\d,]+ sections of syncable courses/);
    expect(await page.locator('#courses tbody tr').count()).toBe(50);
    expect(await page.locator('#courses tr[data-canvas-id="1002"] [data-reason="unpublished"]').count()).toBe(1);
    await page.selectOption('#f-syncable', 'false');
    await page.click('#filters button[type="submit"]');
    await page.waitForURL(/syncable=false/);
    const rows = page.locator('#courses tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await page.locator('#courses tr[data-syncable="true"]').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '02-not-syncable.png'), fullPage: true });
  }, 90_000);

  it('syncs the rosters of a selection of courses from the sync list', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses?syncable=true`);
    const boxes = page.locator('#courses input[name="courseIds"]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.click('#sync-selected');
    // One view for the batch: the job's page, with its progress and outcome per course.
    await page.waitForURL(/\/jobs\//);
    expect(await page.locator('.notice--ok').textContent()).toContain('Roster sync of 2 courses started');
    const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 1 }))[0]!;
    expect((job.params.courseIds as string[]).length).toBe(2);
    // Let it finish: the next test opens one of these courses and expects no sync in progress.
    for (let j = job; j.state === 'queued' || j.state === 'running'; j = (await h.c.sync.jobs.get(job.id))!) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await h.c.sync.jobs.get(job.id))!.state).toBe('succeeded');
  });

  it('a batch of courses shows n of m, the course in hand and a vanished course\'s failure while it runs and after', async () => {
    const ids = (await h.c.sync.courses.syncableCourseIds(id)).slice(2, 6);
    expect(ids).toHaveLength(4);
    const gone = ids[1]!;
    const third = ids[2]!;
    // The second course vanished from Canvas since the refresh; every request is a little slow so
    // the test can hold the job on the third course once the second has failed.
    h.sandbox.control.updateCourse({ courseId: gone, workflowState: 'deleted' });
    h.sandbox.control.configure({ latencyMs: 300 });
    try {
      await page.goto(`${h.appUrl}/integrations/${id}/courses?syncable=true`);
      for (const courseId of ids) await page.check(`#courses input[name="courseIds"][value="${courseId}"]`);
      await page.click('#sync-selected');
      await page.waitForURL(/\/jobs\//);
      const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 1 }))[0]!;
      expect(job.params.courseIds).toEqual(ids);
      // Once the job's checkpoint says the third course is in hand, every further request takes 3 s.
      for (let soFar = await h.c.sync.courseSyncSoFar(job); soFar.current !== third; soFar = await h.c.sync.courseSyncSoFar((await h.c.sync.jobs.get(job.id))!)) {
        const j = (await h.c.sync.jobs.get(job.id))!;
        if (j.state !== 'queued' && j.state !== 'running') throw new Error(`the sync ended before its third course: ${j.state}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      h.sandbox.control.configure({ latencyMs: 3000 });
      const thirdName = (await h.c.sync.courses.getCourse(id, third))!.name;
      // Without a reload: n of m, the course in hand, and the vanished course's failure in its row.
      await page.waitForFunction((c) => document.getElementById('job-batch')?.getAttribute('data-current') === c, third);
      const running = await page.evaluate(() => ({
        label: document.getElementById('job-phase')?.textContent,
        batch: document.getElementById('job-batch')?.textContent,
        rows: [...document.querySelectorAll('#job-courses tbody tr')].map((r) => [r.getAttribute('data-canvas-id'), r.getAttribute('data-outcome'), r.querySelector('[data-cell="status"]')?.textContent?.trim()]),
      }));
      expect(running.label).toBe('Syncing rosters: 2 of 4 courses');
      expect(running.batch).toBe(`Now syncing ${thirdName}. 1 course not synced so far (why is in the list below).`);
      expect(running.rows).toEqual([
        [ids[0], 'synced', expect.stringMatching(/^synced \d+ exam-takers, \d+ skipped/)],
        [gone, 'not_synced', expect.stringContaining('not synced Not synced: Canvas no longer has this course')],
        [third, 'waiting', 'waiting Being synced now'],
        [ids[3], 'waiting', 'waiting Not synced yet'],
      ]);
      await page.screenshot({ path: join(SHOTS, '05a-batch-sync-running.png'), fullPage: true });
      h.sandbox.control.configure({ latencyMs: 0 });
      // After the end (and progress.js's reload): the same failure, and how the batch ended.
      await page.waitForSelector('#job-outcome', { timeout: 60_000 });
      expect(await page.locator('#job-outcome').textContent()).toContain('succeeded');
      expect(await page.locator('#job-batch').textContent()).toBe('3 of 4 courses synced; 1 not synced (why is in the list below).');
      expect(await page.locator(`#job-courses tr[data-canvas-id="${gone}"]`).getAttribute('data-outcome')).toBe('not_synced');
      expect(await page.locator(`#job-courses tr[data-canvas-id="${third}"]`).getAttribute('data-outcome')).toBe('synced');
      expect(await page.locator(`#job-courses tr[data-canvas-id="${gone}"]`).textContent()).toContain('Canvas no longer has this course');
    } finally {
      h.sandbox.control.configure({ latencyMs: 0 });
      h.sandbox.control.updateCourse({ courseId: gone, workflowState: 'available' });
    }
  }, 90_000);

  it("a course's page syncs the roster and lists exam-takers and skipped people with reasons", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    expect(await page.locator('#sections tbody tr').count()).toBeGreaterThan(0);
    // Slow Canvas down while the sync starts, so the page shows the job running before it ends.
    h.sandbox.control.configure({ latencyMs: 1500 });
    await page.click('#sync-course');
    await page.waitForSelector('#job-progress');
    h.sandbox.control.configure({ latencyMs: 0 });
    // While it runs the page shows one job state (the widget), and when it ends only the outcome.
    expect(await page.locator('main .badge', { hasText: /^(running|queued)$/ }).count()).toBeLessThanOrEqual(1);
    const ended = await endedWidget(page);
    expect(ended).toMatchObject({ cancel: false, runningText: false, badges: ['succeeded'] });
    await page.waitForSelector('#exam-takers', { timeout: 60_000 });
    // The ended widget reloads the page to show the results: the picture is of that page, not of the
    // moment before ("Finished · loading the results…").
    await page.waitForFunction(() => !document.body.textContent?.includes('loading the results'), undefined, { timeout: 60_000 });
    expect(await page.locator('#exam-takers tbody tr').count()).toBeGreaterThan(0);
    for (const reason of ['role_not_selected', 'pending', 'inactive', 'concluded', 'missing_user_id']) {
      expect(await page.locator(`#skipped [data-reason="${reason}"]`).count()).toBeGreaterThan(0);
    }
    await page.screenshot({ path: join(SHOTS, '03-course-roster.png'), fullPage: true });
    await page.click('#preview-sync');
    await page.waitForSelector('#preview-none');
    expect(cspErrors).toEqual([]);
  }, 90_000);

  it("an unpublished course's page says why it has no sections and what to do", async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1002`);
    expect(await page.locator('#course-status').getAttribute('data-syncable')).toBe('false');
    expect(await page.locator('[data-reason="unpublished"]').count()).toBe(1);
    expect(await page.locator('#sections').count()).toBe(0);
    expect(await page.locator('#no-sections').textContent()).toContain('only for courses that can be synced');
    await page.screenshot({ path: join(SHOTS, '04-course-not-syncable.png'), fullPage: true });
  });

  it('the Jobs page links each job to a detail that says what it did and each course\'s outcome', async () => {
    await h.c.staff.create({ email: 'jobs-e2e@example.edu', name: 'Jo Staff', password: 'jobs e2e staff passphrase' });
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const staff = await context.newPage();
    staff.setDefaultTimeout(30_000);
    await staff.goto(`${h.appUrl}/login`);
    await staff.fill('#email', 'jobs-e2e@example.edu');
    await staff.fill('#password', 'jobs e2e staff passphrase');
    await staff.click('button[type="submit"]');
    await staff.goto(`${h.appUrl}/jobs`);
    const rows = staff.locator('#jobs tbody tr');
    const n = await rows.count();
    expect(n).toBeGreaterThanOrEqual(3);
    for (let k = 0; k < n; k++) {
      const jobId = await rows.nth(k).getAttribute('data-job-id');
      expect(await rows.nth(k).locator('a[data-job-detail]').getAttribute('href')).toBe(`/integrations/${id}/jobs/${jobId}`);
    }
    const twoCourses = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_sync', limit: 10 })).find((j) => (j.params.courseIds as string[]).length === 2)!;
    await staff.click(`#jobs tr[data-job-id="${twoCourses.id}"] a[data-job-detail]`);
    await staff.waitForSelector('#job-did');
    expect(await staff.locator('#job-outcome').textContent()).toContain('succeeded');
    expect(await staff.locator('#job-did').textContent()).toContain('Asked to sync the rosters (exam-takers and the people skipped, with reasons) of 2 courses');
    const outcomes = staff.locator('#job-courses tbody tr');
    expect(await outcomes.count()).toBe(2);
    for (const courseId of twoCourses.params.courseIds as string[]) {
      const row = staff.locator(`#job-courses tr[data-canvas-id="${courseId}"]`);
      expect(await row.getAttribute('data-outcome')).toBe('synced');
      expect(await row.textContent()).toMatch(/\d+ exam-takers, \d+ skipped/);
    }
    await staff.screenshot({ path: join(SHOTS, '05-job-detail-sync.png'), fullPage: true });

    const refresh = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_refresh', limit: 1 }))[0]!;
    await staff.goto(`${h.appUrl}/jobs`);
    await staff.click(`#jobs tr[data-job-id="${refresh.id}"] a[data-job-detail]`);
    await staff.waitForSelector('#job-did');
    const did = await staff.locator('#job-did').textContent();
    expect(did).toContain(`Read ${refresh.summary!.courses} courses via the REST API`);
    expect(did).toContain(`Saved ${refresh.summary!.sections} sections of syncable courses`);
    expect(await staff.locator('#job-reasons [data-reason="unpublished"]').count()).toBe(1);
    // The same address still answers the pages' polling with JSON.
    const polled = await staff.evaluate(async (u) => (await fetch(u, { headers: { Accept: 'application/json' } })).json(), `/integrations/${id}/jobs/${refresh.id}`);
    expect(polled).toMatchObject({ id: refresh.id, state: 'succeeded', progress: { label: 'Finished' } });
    await context.close();
  });

  it('a refresh on the report path counts, in its last phase, the sections of syncable courses its result reports', async () => {
    h.sandbox.control.setPermissions({ userId: '1', permissions: { read_reports: true } });
    // Hold the job at its first save of sections while the browser and the CLI's bar read it.
    const held = holdCalls(h.c.sync.courses, 'upsertSections');
    try {
      await page.goto(`${h.appUrl}/integrations/${id}/courses`);
      await page.click('#refresh-courses');
      await page.waitForSelector('#job-progress');
      await page.waitForFunction(() => /^Saving sections of syncable courses from the report: 0 of [\d,]+ sections$/.test(document.getElementById('job-phase')?.textContent ?? ''), undefined, { timeout: 60_000 });
      const label = (await page.locator('#job-phase').textContent())!;
      const total = Number(/of ([\d,]+) sections/.exec(label)![1]!.replace(/,/g, ''));
      expect(await page.evaluate(() => (document.getElementById('job-bar') as HTMLProgressElement).max)).toBe(total);
      const job = (await h.c.sync.jobs.list({ integrationId: id, kind: 'course_refresh', limit: 1 }))[0]!;
      expect(progressLine(job)).toContain(label);
      await page.screenshot({ path: join(SHOTS, '01a-refresh-report-sections.png'), fullPage: false });
      held.release();
      await endedWidget(page);
      await page.waitForSelector('#refresh-courses', { timeout: 60_000 });
      const result = (await page.locator('#last-refresh').textContent())!.replace(/\s+/g, ' ');
      expect(result).toContain('via the provisioning report');
      expect(result).toContain(`${total.toLocaleString('en-US')} sections of syncable courses`);
      const ended = (await h.c.sync.jobs.get(job.id))!;
      expect([ended.summary?.path, ended.summary?.sections]).toEqual(['bulk', total]);
    } finally {
      held.restore();
      h.sandbox.control.setPermissions({ userId: '1', permissions: { read_reports: false } });
    }
  }, 90_000);
});
