import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { storageHash } from '../../src/lti/platform-storage-repository.js';
import { launchChromium } from '../support/browser.js';
import { COURSE_ID, seedCourseRoster, startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';

/**
 * A launch inside Canvas's iframe where the browser blocks third-party cookies: the sandbox page on
 * 127.0.0.1 frames the tool on localhost (another site), with Canvas's storage frame on the auth
 * origin next to it. Chromium's switch turns third-party cookie blocking on (its off-the-record
 * contexts block them already); the first test shows it is in effect, and that the cookie path
 * therefore fails in this very browser, so the storage path's success means something.
 */
const BLOCK_THIRD_PARTY_COOKIES = '--test-third-party-cookie-phaseout';

async function toolFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector('#tool');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('no tool frame');
  return frame;
}

async function codeIn(frame: Frame): Promise<string | null> {
  const el = await frame.waitForSelector('[data-lti-code]:not([data-lti-code^="storage_"])', { timeout: 20_000 });
  return el.getAttribute('data-lti-code');
}

describe('LTI launch in a cross-site iframe with third-party cookies blocked (chromium)', () => {
  let h: LtiHarness;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    h = await startLtiHarness({ crossSite: true });
    browser = await launchChromium({ args: [BLOCK_THIRD_PARTY_COOKIES] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext();
  });
  afterEach(async () => {
    await context?.close();
  });

  it('this browser blocks third-party cookies, and the cookie path fails in it (Canvas without lti_storage_target)', async () => {
    const page = await context.newPage();
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.admin}&placement=account_navigation&mobile=1`);
    const frame = await toolFrame(page);
    expect(await codeIn(frame)).toBe('cookies_blocked');
    // A SameSite=None cookie sticks at the tool's site top-level, not inside the cross-site frame.
    const setAndRead = () => {
      document.cookie = 'cc_3p_probe=1; SameSite=None; Secure; Path=/';
      return document.cookie.includes('cc_3p_probe=1');
    };
    expect(await frame.evaluate(setAndRead)).toBe(false);
    const top = await context.newPage();
    await top.goto(`${h.appUrl}/healthz`);
    expect(await top.evaluate(setAndRead)).toBe(true);
  });

  it('the same launch with lti_storage_target validates through Canvas’s storage frame', async () => {
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.admin}&placement=account_navigation`);
    const frame = await toolFrame(page);
    // The launch was accepted; without the app's session cookie the admin sees the read-only landing
    // right in the frame, and anything that changes state continues in a new window.
    expect(await codeIn(frame)).toBe('frame_admin');
    expect(await frame.locator('h1').textContent()).toBe('Institution A');

    const rows = await h.container.store.db.selectFrom('lti_storage_logins').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ integration_id: h.integrationA, used_at: expect.any(String), connected_at: expect.any(String) });
    // Canvas's storage (its first-party localStorage) was used and emptied again.
    const keys = await page.evaluate(() => Object.keys(window.localStorage).filter((k) => k.startsWith('lti|platform_storage|')));
    expect(keys).toEqual([]);

    const [popup] = await Promise.all([context.waitForEvent('page'), frame.locator('#lti-new-window').click()]);
    await popup.waitForURL(new RegExp(`/integrations/${h.integrationA}$`), { timeout: 20_000 });
    expect(cspErrors).toEqual([]);
  });

  it('the instructor’s course page shows inside the frame (title, exam-takers), with no cookie and no new window', async () => {
    await seedCourseRoster(h);
    const page = await context.newPage();
    const popups: string[] = [];
    context.on('page', (p) => popups.push(p.url()));
    const referers: string[] = [];
    page.on('request', (req) => {
      const r = req.headers()['referer'];
      if (r) referers.push(r);
    });
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.teacher}&course=${COURSE_ID}&placement=course_navigation`);
    const frame = await toolFrame(page);
    await frame.waitForSelector('[data-lti-page="course"]', { timeout: 20_000 });
    expect(new URL(frame.url()).pathname).toBe(`/launch/frame/integrations/${h.integrationA}/courses/${COURSE_ID}`);
    expect(await frame.locator('h1').first().textContent()).toBe('Chemistry 101');
    expect(await frame.locator('[data-lti-section="exam-takers"]').textContent()).toContain('Sam Student');
    // Nothing of the service's was kept as a cookie, and no other window was opened.
    expect((await context.cookies(h.appUrl)).map((c) => c.name)).toEqual([]);
    expect(popups).toEqual([]);
    // The page's token is named in no Referer (its stylesheet and icon requests carry none).
    const token = new URL(frame.url()).searchParams.get('frame_token')!;
    expect(referers.some((r) => r.includes(token))).toBe(false);
  });

  it('a storage frame that loads after the tool still holds the login: the first question is asked again until it answers', async () => {
    const page = await context.newPage();
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.admin}&placement=account_navigation&storage_delay_ms=1500`);
    expect(await codeIn(await toolFrame(page))).toBe('frame_admin');
    // State and nonce were stored through the frame (not through the window.parent fallback after a timeout).
    const relayed = await page.evaluate(() => (window as unknown as { __ltiStorageRelayed?: string[] }).__ltiStorageRelayed ?? []);
    expect(relayed.filter((s) => s === 'lti.put_data')).toHaveLength(2);
  });

  it('an id_token posted again into the frame is refused as a replay', async () => {
    const page = await context.newPage();
    // Catch the id_token on its way to the tool, then post it a second time from the same frame.
    let posted: { id_token: string; state: string } | undefined;
    page.on('request', (req) => {
      if (req.method() === 'POST' && req.url() === `${h.appUrl}/lti` && !posted) {
        const form = new URLSearchParams(req.postData() ?? '');
        posted = { id_token: form.get('id_token') ?? '', state: form.get('state') ?? '' };
      }
    });
    await page.goto(`${h.sandbox.url}/__lti/launch?frame=1&user=${USERS.admin}&placement=account_navigation`);
    expect(await codeIn(await toolFrame(page))).toBe('frame_admin');
    expect(posted).toBeDefined();
    expect(await h.container.store.db.selectFrom('lti_storage_logins').select('used_at').where('state_hash', '=', storageHash(posted!.state)).executeTakeFirst()).toEqual({ used_at: expect.any(String) });

    const frame = await toolFrame(page);
    await frame.evaluate(({ action, fields }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [k, v] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = k;
        input.value = v;
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
    }, { action: `${h.appUrl}/lti`, fields: posted! });
    await frame.waitForURL(`${h.appUrl}/lti`);
    expect(await codeIn(frame)).toBe('replayed');
  });
});
