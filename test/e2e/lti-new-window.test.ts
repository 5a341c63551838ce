import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';

/**
 * The third-party-cookie fallback in a real browser: the sandbox (127.0.0.1) frames the tool
 * (localhost), a different site, so chromium keeps no Lax cookie for the tool inside the frame. The
 * tool must offer "Continue in a new window", and the launch must complete in that window. This is
 * the path of a launch without `lti_storage_target` (`mobile=1`: Canvas's apps send none); with it,
 * test/e2e/lti-platform-storage.test.ts.
 */
describe('LTI launch in a cross-site iframe (chromium)', () => {
  let h: LtiHarness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startLtiHarness({ crossSite: true });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('offers a new window inside the frame, and the admin lands on LMS Settings in that window', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.admin}&placement=account_navigation&mobile=1`);
    const frame = page.frameLocator('#tool');
    const button = frame.locator('#lti-new-window');
    await button.waitFor({ timeout: 20_000 });
    expect(await frame.locator('[data-lti-code]').getAttribute('data-lti-code')).toBe('cookies_blocked');

    const [popup] = await Promise.all([context.waitForEvent('page'), button.click()]);
    await popup.waitForURL(new RegExp(`/integrations/${h.integrationA}$`), { timeout: 20_000 });
    expect(new URL(popup.url()).host).toBe(new URL(h.appUrl).host);
    await context.close();
  });
});
