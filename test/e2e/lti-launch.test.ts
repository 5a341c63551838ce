import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshotFolder, waitInFrame } from '../support/browser.js';
import { COURSE_ID, seedCourseRoster, startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';

const shots = screenshotFolder('lti');
const SHOTS = shots.dir;

/**
 * A real browser (chromium) runs LTI launches from the sandbox platform: the platform's auto-post
 * script, ltijs's cookies, the hand-over to the app's session, CSP frame-ancestors for the
 * sandbox's iframe, and no inline script on our pages.
 */
describe('LTI launch in a real browser (chromium)', () => {
  let h: LtiHarness;
  let browser: Browser;
  const cspErrors: string[] = [];

  beforeAll(async () => {
    h = await startLtiHarness();
    await seedCourseRoster(h);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  it('an admin launch from account navigation lands on LMS Settings of institution A', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${h.sandbox.url}/__lti/launch?user=${USERS.admin}&placement=account_navigation`);
    await page.waitForURL(new RegExp(`/integrations/${h.integrationA}$`));
    await page.goto(`${h.appUrl}/integrations/${h.integrationA}/lti`);
    expect(await page.locator('[data-lti-page="setup"]').count()).toBe(1);
    expect(await page.locator('[data-check="client_id"]').getAttribute('data-ok')).toBe('1');
    expect((await page.goto(`${h.appUrl}/integrations/${h.integrationB}/lti`))?.status()).toBe(403);
    expect(cspErrors).toEqual([]);
    await context.close();
  });

  it("an instructor launch inside the platform's iframe shows the course page in the frame", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.teacher}&course=${COURSE_ID}&placement=course_navigation`);
    await waitInFrame(page, '#tool', '[data-lti-page="course"]');
    const frame = page.frameLocator('#tool');
    expect(await frame.locator('[data-lti-page="course"]').getAttribute('data-course-id')).toBe(COURSE_ID);
    expect(await frame.locator('[data-nrps-differences]').getAttribute('data-nrps-differences')).toBe('1');
    await page.screenshot({ path: join(SHOTS, '01-instructor-course-in-canvas-frame.png'), fullPage: true });
    await context.close();
  });
});
