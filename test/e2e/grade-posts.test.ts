import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

async function waitJob(h: Harness, id: string): Promise<{ state: string }> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await h.api('GET', `/api/v1/jobs/${id}`);
    if (['succeeded', 'failed', 'cancelled'].includes(r.body.state)) return r.body;
    if (Date.now() > end) throw new Error(`job ${id} stuck in ${r.body.state}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const shots = screenshotFolder('grade-posts');

/**
 * The course page in a real browser, seen by a Canvas admin (setup-link session): the exams posted
 * to the gradebook, each with its outcome counts, the link to the assignment at Canvas, and every
 * student's outcome with its reason.
 */
describe('the course page lists the exams posted, in a real browser (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;
  let assignmentId: string;

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 12 });
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration({ name: 'Gradebook University', features: ['course_refresh', 'roster_sync', 'grade_passback'] });
    await h.authorize(id);
    const sync = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/sync`, {});
    expect((await waitJob(h, sync.body.id)).state).toBe('succeeded');
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster`);
    const [a, b] = roster.body.examTakers.map((p: { externalId: string }) => p.externalId) as string[];
    const skipped = roster.body.skipped.find((p: { reasons: string[] }) => p.reasons.includes('pending'));
    const scores = [
      { userExternalId: a, score: 9 },
      { userExternalId: b, score: 7.5 },
      { userExternalId: 'NO-SUCH-PERSON', score: 4 },
    ];
    // A skipped person with an external id (pending enrollment), when the world has one.
    if (skipped?.externalId) scores.push({ userExternalId: skipped.externalId, score: 5 });
    const post = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/grade-posts`, { exam: { key: 'quiz-1', title: 'Quiz 1', pointsPossible: 10 }, scores });
    expect((await waitJob(h, post.body.id)).state).toBe('succeeded');
    assignmentId = (await h.api('GET', `/api/v1/integrations/${id}/courses/1001/grade-posts/quiz-1`)).body.assignmentId;
    browser = await launchChromium();
    const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
    page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(link.body.url);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  it('shows the exam with its counts, the assignment link and each outcome', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    const exam = page.locator('#grade-posts details[data-exam-key="quiz-1"]');
    await expect(exam.count()).resolves.toBe(1);
    expect(await exam.getAttribute('data-state')).toBe('succeeded');
    expect(await exam.locator('summary').textContent()).toMatch(/Quiz 1[\s\S]*10 points[\s\S]*2 posted[\s\S]*1 unknown user/);
    // The only exam is shown open: its outcomes are visible without a click.
    await expect(exam.locator('tr[data-outcome="posted"]').count()).resolves.toBe(2);
    expect(await exam.locator('tr[data-user="NO-SUCH-PERSON"]').isVisible()).toBe(true);
    expect(await exam.locator('tr[data-user="NO-SUCH-PERSON"] td').nth(1).textContent()).toBe('unknown user');
    const href = await exam.locator('a.assignment-link').getAttribute('href');
    expect(href).toBe(`${h.sandbox.url}/courses/1001/assignments/${assignmentId}`);
    expect(await exam.locator('a.assignment-link').getAttribute('rel')).toContain('noopener');
    await exam.scrollIntoViewIfNeeded();
    await page.locator('#grade-posts').screenshot({ path: join(shots.dir, '01-exams-posted.png') });
  });

  it('a second exam: both listed, the newest first, each folded until opened', async () => {
    const roster = await h.api('GET', `/api/v1/integrations/${id}/courses/1001/roster`);
    const a = roster.body.examTakers[0].externalId as string;
    const post = await h.api('POST', `/api/v1/integrations/${id}/courses/1001/grade-posts`, { exam: { key: 'quiz-2', title: 'Quiz 2', pointsPossible: 20 }, scores: [{ userExternalId: a, score: 19 }] });
    expect((await waitJob(h, post.body.id)).state).toBe('succeeded');
    await page.goto(`${h.appUrl}/integrations/${id}/courses/1001`);
    const keys = await page.locator('#grade-posts details').evaluateAll((els) => els.map((e) => e.getAttribute('data-exam-key')));
    expect(keys).toEqual(['quiz-2', 'quiz-1']);
    const second = page.locator('#grade-posts details[data-exam-key="quiz-1"]');
    expect(await second.locator('tr[data-user="NO-SUCH-PERSON"]').isVisible()).toBe(false);
    await second.locator('summary').click();
    expect(await second.locator('tr[data-user="NO-SUCH-PERSON"]').isVisible()).toBe(true);
  });
});
