import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

/**
 * Post/Redirect/Get: after each form a person sends, reloading the page shows a page (never
 * "Page not found" or a misread address) and never does the action a second time.
 */
describe('reloading after a form (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let id: string;
  const posts: string[] = [];

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 12 });
    id = await h.createIntegration({ name: 'Demo State University' });
    await h.authorize(id);
    await h.c.staff.create({ email: 'reload-e2e@example.edu', name: 'Ray Reload', password: 'reload e2e staff passphrase' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${h.appUrl}/login`);
    await page.fill('#email', 'reload-e2e@example.edu');
    await page.fill('#password', 'reload e2e staff passphrase');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('creating an API token, then reloading, leaves one token', async () => {
    await page.goto(`${h.appUrl}/settings/api-tokens`);
    await page.fill('#token-name', 'reload test');
    await page.click('form[action="/settings/api-tokens"] button[type="submit"]');
    await page.waitForSelector('#new-token');
    const before = posts.length;
    // A reload sends the same form again (the browser re-posts): the answer is a redirect to the list.
    const res = await page.reload();
    expect(posts.length).toBe(before + 1);
    expect(res!.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/settings/api-tokens');
    expect(await page.locator('#new-token').count()).toBe(0);
    expect(await page.locator('.notice--warn').textContent()).toContain('already created');
    expect((await h.c.apiTokens.list()).filter((t) => t.name === 'reload test')).toHaveLength(1);
    // A second, fresh form still creates a token.
    await page.fill('#token-name', 'reload test 2');
    await page.click('form[action="/settings/api-tokens"] button[type="submit"]');
    await page.waitForSelector('#new-token');
    expect((await h.c.apiTokens.list()).filter((t) => t.name.startsWith('reload test'))).toHaveLength(2);
  });

  it('"Check configuration", then reloading, shows the integration page without asking Canvas again', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}`);
    await page.click('#preflight');
    await page.waitForSelector('#preflight-result');
    expect(new URL(page.url()).pathname).toBe(`/integrations/${id}`);
    const before = posts.length;
    const res = await page.reload();
    expect(posts.length).toBe(before);
    expect(res!.status()).toBe(200);
    expect(await page.locator('h1').textContent()).not.toContain('not found');
    expect(await page.locator('#preflight').count()).toBe(1);
  });

  it('"Refresh one course", then reloading, shows the courses page (not a course called "lookup")', async () => {
    await page.goto(`${h.appUrl}/integrations/${id}/courses`);
    await page.fill('#lookup-query', '1001');
    await page.click('#lookup-submit');
    await page.waitForSelector('#lookup-result');
    expect(new URL(page.url()).pathname).toBe(`/integrations/${id}/courses`);
    expect(await page.locator('#lookup-result').textContent()).toContain('1001');
    const before = posts.length;
    const res = await page.reload();
    expect(posts.length).toBe(before);
    expect(res!.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toContain('Courses');
    // An error from Canvas is shown after the redirect too.
    await page.fill('#lookup-query', '999999');
    await page.click('#lookup-submit');
    await page.waitForSelector('#lookup-result, #lookup-error');
    expect(new URL(page.url()).pathname).toBe(`/integrations/${id}/courses`);
  });
});
