import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { DEMO_CLIENT_ID } from '../../src/simulator/demo-world.js';
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
    await h.c.sync.runner.start();
    h.c.onClose(() => h.c.sync.runner.stop());
    id = await h.createIntegration({ name: 'Demo State University' });
    await h.authorize(id);
    await h.c.staff.create({ email: 'reload-e2e@example.edu', name: 'Ray Reload', password: 'reload e2e staff passphrase' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('dialog', (d) => void d.accept());
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
  /** What a repeated action would change: audit entries, jobs, tokens, integrations. */
  async function effects() {
    const ids = (await h.c.integrations.list()).map((i) => i.id);
    const audit = (await Promise.all(ids.map((i) => h.c.audit.list(i, 10_000)))).flat().length + (await h.c.audit.list(null, 10_000)).length;
    const jobs = (await h.c.sync.jobs.list({ limit: 10_000 })).length;
    return { integrations: ids.length, audit, jobs, tokens: (await h.c.apiTokens.list()).filter((t) => !t.revokedAt).length };
  }

  /** Waits until no job is queued or running (a job a form started, or the scheduler's). */
  async function settled() {
    for (let i = 0; ; i++) {
      const open = (await h.c.sync.jobs.list({ limit: 50 })).filter((j) => j.state === 'queued' || j.state === 'running');
      if (open.length === 0) return;
      if (i > 600) throw new Error(`jobs still open: ${open.map((j) => `${j.kind} ${j.state} ${JSON.stringify(j.progress)}`).join('; ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  interface FormCase {
    name: string;
    /** Runs before the page opens (e.g. starts a slow job to cancel). */
    prepare?: () => Promise<void>;
    /** Checks the page the form answered with (before the reload). */
    check?: (p: Page) => Promise<void>;
    /** Runs once the reload was checked. */
    after?: () => Promise<void>;
    open: () => string;
    fill?: (p: Page) => Promise<void>;
    submit: string;
    /** Checks the page a reload shows (a kept form error is gone). */
    afterReload?: (p: Page) => Promise<void>;
    /** The answer is rendered by the POST itself (a value shown once): a reload re-sends the form and gets a redirect. */
    rendered?: boolean;
  }
  let newId = '';
  const base = () => `${h.appUrl}/integrations/${id}`;
  const CASES: FormCase[] = [
    { name: 'Save (LMS settings)', open: () => base(), fill: (p) => p.fill('#name', 'Demo State University'), submit: 'form[action$="/settings"] button[type="submit"]:not([form])' },
    {
      name: 'LMS settings, with a field wrong (the page comes back with the error once)',
      open: () => base(),
      fill: (p) => p.fill('#canvasUrl', 'not an address'),
      submit: 'form[action$="/settings"] button[type="submit"]:not([form])',
      check: async (p) => {
        expect(new URL(p.url()).pathname).toBe(`/integrations/${id}`);
        expect(await p.locator('#form-error').count()).toBe(1);
        expect(await p.locator('#canvasUrl').inputValue()).toBe('not an address');
        expect(await p.evaluate(() => document.activeElement?.id)).toBe('form-error');
      },
      afterReload: async (p) => {
        expect(await p.locator('#form-error').count()).toBe(0);
        expect(await p.locator('#canvasUrl').inputValue()).toBe(h.sandbox.url);
      },
    },
    { name: 'Re-check', open: () => base(), submit: '#recheck' },
    { name: 'Create setup link', open: () => base(), submit: 'form[action$="/setup-link"] button[type="submit"]', rendered: true },
    { name: 'Configure: save ID types and roles', open: () => `${base()}/configure`, submit: 'form[action$="/configure"] button[type="submit"]' },
    {
      name: 'Configure, with no course-admin role ticked (the page comes back with the error and the choices once)',
      open: () => `${base()}/configure`,
      fill: async (p) => {
        for (const box of await p.locator('input[name="courseAdminRoles"]').all()) await box.uncheck();
      },
      submit: 'form[action$="/configure"] button[type="submit"]',
      check: async (p) => {
        expect(new URL(p.url()).pathname).toBe(`/integrations/${id}/configure`);
        expect(await p.locator('#form-error').textContent()).toContain('courseAdminRoles');
        expect(await p.locator('input[name="courseAdminRoles"]:checked').count()).toBe(0);
        expect(await p.evaluate(() => document.activeElement?.id)).toBe('form-error');
      },
      afterReload: async (p) => {
        expect(await p.locator('#form-error').count()).toBe(0);
        expect(await p.locator('input[name="courseAdminRoles"]:checked').count()).toBeGreaterThan(0);
      },
    },
    { name: 'Troubleshooting: explain', open: () => `${base()}/troubleshoot`, fill: (p) => p.fill('#url', 'https://x/oauth/callback?error=access_denied'), submit: 'form[action$="/troubleshoot"] button[type="submit"]' },
    {
      name: 'LTI: check and save',
      open: () => `${base()}/lti`,
      fill: async (p) => {
        await p.fill('#lti-client-id', '10000000000777');
        await p.fill('#lti-deployments', '1:reload-test');
      },
      submit: 'form[action$="/lti"] button[type="submit"]',
    },
    {
      name: 'LTI, with a deployment id wrong (the page comes back with the error and the values once)',
      open: () => `${base()}/lti`,
      fill: async (p) => {
        await p.fill('#lti-client-id', '10000000000778');
        await p.fill('#lti-deployments', 'not a deployment!');
      },
      submit: 'form[action$="/lti"] button[type="submit"]',
      check: async (p) => {
        expect(new URL(p.url()).pathname).toBe(`/integrations/${id}/lti`);
        expect(await p.locator('[data-form-error][data-field="deploymentIds"]').count()).toBe(1);
        expect(await p.locator('#lti-client-id').inputValue()).toBe('10000000000778');
        expect(await p.locator('#lti-deployments').inputValue()).toBe('not a deployment!');
      },
      afterReload: async (p) => {
        expect(await p.locator('[data-form-error]').count()).toBe(0);
        expect(await p.locator('#lti-client-id').inputValue()).toBe('10000000000777');
      },
    },
    { name: 'Refresh course list', open: () => `${base()}/courses`, submit: '#refresh-courses' },
    {
      name: 'Sync the selected courses',
      open: () => `${base()}/courses?syncable=true`,
      fill: async (p) => {
        await p.locator('#courses input[name="courseIds"]').nth(2).check();
      },
      submit: '#sync-selected',
    },
    { name: 'Sync every syncable course (confirmed)', open: () => `${base()}/course-sync-all`, submit: '#confirm-sync-all' },
    { name: "Sync one course's roster", open: () => `${base()}/courses/1003`, submit: '#sync-course' },
    {
      name: 'New integration, with a field wrong (the form comes back with the error once)',
      open: () => `${h.appUrl}/integrations/new`,
      fill: async (p) => {
        await p.fill('#name', 'Reload Wrong College');
        await p.fill('#canvasUrl', 'not an address');
        await p.fill('#clientId', DEMO_CLIENT_ID);
      },
      submit: 'form[action="/integrations"] button[type="submit"]',
      check: async (p) => {
        expect(new URL(p.url()).pathname).toBe('/integrations/new');
        expect(await p.locator('#form-error').count()).toBe(1);
        expect(await p.locator('#name').inputValue()).toBe('Reload Wrong College');
        expect(await p.evaluate(() => document.activeElement?.id)).toBe('form-error');
      },
    },
    {
      name: 'New integration',
      open: () => `${h.appUrl}/integrations/new`,
      fill: async (p) => {
        await p.fill('#name', 'Reload Test College');
        await p.fill('#canvasUrl', h.sandbox.url);
        await p.fill('#clientId', DEMO_CLIENT_ID);
      },
      submit: 'form[action="/integrations"] button[type="submit"]',
    },
    { name: 'Delete integration', open: () => `${h.appUrl}/integrations/${newId}`, submit: 'form[action$="/delete"] button[type="submit"]' },
    { name: 'Revoke API token', open: () => `${h.appUrl}/settings/api-tokens`, submit: 'button[aria-label="Revoke token reload test"]' },
    {
      name: 'Cancel a running job',
      prepare: async () => {
        h.sandbox.control.configure({ latencyMs: 400 });
        await h.c.sync.startRefresh(id);
      },
      open: () => `${base()}/courses`,
      submit: '#job-cancel',
      after: async () => void h.sandbox.control.configure({ latencyMs: 0 }),
    },
    { name: 'Disconnect', open: () => base(), submit: '#disconnect' },
    {
      name: 'Configure, sent from a page opened before the connection was lost (locked: nothing saved, said once)',
      prepare: async () => {
        await h.authorize(id);
      },
      open: () => `${base()}/configure`,
      fill: async () => {
        await h.c.connection.disconnect(id, 'reload-e2e');
      },
      submit: 'form[action$="/configure"] button[type="submit"]',
      check: async (p) => {
        expect(new URL(p.url()).pathname).toBe(`/integrations/${id}/configure`);
        expect(await p.locator('#form-error').textContent()).toContain('locked');
      },
      afterReload: async (p) => void expect(await p.locator('#form-error').count()).toBe(0),
    },
  ];

  it.each(CASES.map((c) => [c.name, c] as const))('%s, then reloading, shows a page and does nothing twice', async (_name, c) => {
    if (c.name === 'Delete integration') newId = (await h.c.integrations.list()).find((i) => i.name === 'Reload Test College')!.id;
    await c.prepare?.();
    await page.goto(c.open());
    await c.fill?.(page);
    const sent = posts.length;
    await page.click(c.submit);
    await page.waitForLoadState('load');
    expect(posts.length).toBe(sent + 1);
    await c.check?.(page);
    // Let the jobs a form started settle, so the comparison sees only what a reload adds.
    await settled();
    const before = await effects();
    const res = await page.reload();
    expect(res!.status()).toBe(200);
    expect(posts.length).toBe(sent + 1 + (c.rendered ? 1 : 0));
    expect(await page.locator('h1').first().textContent()).not.toMatch(/not found|no access|did not work/i);
    expect(await effects()).toEqual(before);
    await c.afterReload?.(page);
    await c.after?.();
  }, 60_000);
});
