import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotFolder, waitInFrame } from '../support/browser.js';
import { startLtiHarness, type LtiHarness } from '../support/lti-harness.js';

const shots = screenshotFolder('lti-register');

/**
 * LTI Dynamic Registration end to end in a real browser: the sandbox's "register an app" page
 * (Canvas's side) frames our /lti/register, we register at the sandbox and save the key, and the
 * Done button's postMessage makes the sandbox close the frame and show its review. Then the
 * refusals the page explains: a reused registration token, another issuer, and Canvas's 422.
 */
describe('LTI Dynamic Registration in a real browser (chromium)', () => {
  let h: LtiHarness;
  let browser: Browser;
  let fresh: string;
  let made = 0;
  const staff = { scope: 'platform' as const, label: 'staff:test@example.edu' };

  beforeAll(async () => {
    h = await startLtiHarness();
    browser = await launchChromium();
  }, 120_000);

  beforeEach(async () => {
    // An integration on the sandbox without any LTI registration yet.
    const c = await h.container.integrationSettings.create(
      { name: `Institution C${++made > 1 ? ` (${made})` : ''}`, canvasUrl: h.sandbox.url, clientId: '10000000000001', accountId: 'self', courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] },
      staff,
    );
    fresh = c.id;
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  const registerUrl = (id: string) => `${h.appUrl}/lti/register?integration=${encodeURIComponent(id)}`;
  const openRegistration = async (page: Page, id: string) => {
    await page.goto(`${h.sandbox.url}/__lti/register?url=${encodeURIComponent(registerUrl(id))}`);
    await waitInFrame(page, '#tool', '[data-lti-page="register"]');
    return page.frameLocator('#tool');
  };

  it('registers the tool, saves client id and issuer, and hands the window back to Canvas’s review', async () => {
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const context = await browser.newContext({ viewport: { width: 1000, height: 1400 } });
    const page = await context.newPage();
    const frame = await openRegistration(page, fresh);
    expect(await frame.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('registered');
    const clientId = (await frame.locator('[data-registered="client-id"]').textContent())?.trim();
    expect(clientId).toMatch(/^\d+$/);
    expect(await frame.locator('[data-remaining-steps]').textContent()).toContain('ON');
    // The Canvas account and the integration are named apart (the heading named the account, the notice the integration).
    expect(await frame.locator('h1').textContent()).toBe('canvas-companion is registered in Canvas');
    expect(await frame.locator('dt:has-text("Canvas account") + dd').textContent()).toBe('Institution A');
    await page.screenshot({ path: join(shots.dir, '01-registered-in-canvas-frame.png'), fullPage: true });

    const saved = await h.container.integrations.get(fresh);
    expect(saved?.lti).toEqual({ environment: 'custom', clientId, deploymentIds: [], issuer: h.sandbox.url, grantedScopes: ['https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly'] });
    expect(h.platform.lastRegistrationErrors()).toEqual([]);
    // The window admits one registration.
    expect((await h.container.ltiRegistration.status(fresh)).window).toBeNull();
    // ltijs's platform list has it, so /lti/keys serves its key.
    const keys = (await (await fetch(`${h.appUrl}/lti/keys`)).json()) as { keys: unknown[] };
    expect(keys.keys.length).toBeGreaterThanOrEqual(2);

    await frame.locator('[data-lti-close]').click();
    await page.waitForURL(/\/__lti\/register\/review/);
    expect(await page.locator('#client-id').textContent()).toBe(clientId);
    const audit = await h.container.audit.list(fresh);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['lti.registration.dynamic', 'lti.registration.updated', 'lti.registration.window_opened']));

    // The admin installs it at Canvas; the first signed launch tells us the deployment.
    await page.locator('#confirm').click();
    const deploymentId = (await page.locator('#installed code').textContent())?.trim();
    expect(deploymentId).toMatch(/^\d+:[0-9a-f]+$/);
    await page.goto(`${h.sandbox.url}/__lti/launch?user=1&placement=account_navigation&client_id=${clientId}`);
    await page.waitForURL(new RegExp(`/integrations/${fresh}$`));
    expect((await h.container.integrations.get(fresh))?.lti?.deploymentIds).toEqual([deploymentId]);
    // Only the first: another deployment of the key is not added by a launch.
    const other = await context.newPage();
    await other.goto(`${h.sandbox.url}/__lti/launch?user=1&placement=account_navigation&client_id=${clientId}&deployment_id=99:other`);
    await other.locator('[data-lti-code="unknown_deployment"]').waitFor({ timeout: 20_000 });
    expect((await h.container.integrations.get(fresh))?.lti?.deploymentIds).toEqual([deploymentId]);
    await context.close();
  });

  it('refuses a reused registration token without registering a second key', async () => {
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const context = await browser.newContext();
    const page = await context.newPage();
    await openRegistration(page, fresh);
    const toolUrl = await page.locator('#tool').getAttribute('src');
    const keysBefore = h.sandbox.world.lti ? (h.sandbox.world.lti as { tools: unknown[] }).tools.length : 0;
    // The same Canvas link opened again (a reload): the window is open again, the token is not.
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const again = await context.newPage();
    const res = await again.goto(toolUrl!);
    expect(res?.status()).toBe(400);
    expect(await again.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('reused_token');
    expect(await again.locator('h1').textContent()).toContain('already used');
    expect((h.sandbox.world.lti as { tools: unknown[] }).tools.length).toBe(keysBefore);
    // Canvas's registration token never reaches the log (request lines redact it, also URL-encoded).
    const token = new URL(toolUrl!).searchParams.get('registration_token')!;
    expect(h.container.log.text()).toContain('/lti/register');
    expect(h.container.log.text()).not.toContain(token.split('.')[2]!);
    await context.close();
  });

  it('explains Canvas’s 401 for a registration token it does not accept (expired, or not its own)', async () => {
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const context = await browser.newContext();
    const page = await context.newPage();
    const openid = `${h.sandbox.url}/api/lti/security/openid-configuration`;
    const res = await page.goto(`${registerUrl(fresh)}&openid_configuration=${encodeURIComponent(openid)}&registration_token=eyJhbGciOiJSUzI1NiJ9.eyJ1dWlkIjoieCJ9.c2ln`);
    expect(res?.status()).toBe(400);
    expect(await page.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('token_refused');
    expect(await page.locator('[data-refusal]').textContent()).toContain('HTTP 401: JWT did not include expected contents');
    expect(await page.locator('h1').textContent()).toBe('Canvas refused the registration token');
    expect((await h.container.integrations.get(fresh))?.lti).toBeUndefined();
    await context.close();
  });

  it('refuses a Canvas whose issuer is not the integration’s, and says which issuer it expected', async () => {
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const lw = h.sandbox.world.lti as { issuer?: string };
    const before = lw.issuer;
    lw.issuer = 'https://canvas.elsewhere.example';
    try {
      const context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
      const page = await context.newPage();
      const frame = await openRegistration(page, fresh);
      expect(await frame.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('wrong_issuer');
      const said = await frame.locator('[data-refusal]').textContent();
      expect(said).toContain('https://canvas.elsewhere.example');
      expect(said).toContain(h.sandbox.url);
      await page.screenshot({ path: join(shots.dir, '02-wrong-issuer.png'), fullPage: true });
      await context.close();
    } finally {
      lw.issuer = before;
    }
    expect((await h.container.integrations.get(fresh))?.lti).toBeUndefined();
  });

  it('shows what Canvas answered when it refuses the registration (422)', async () => {
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const lw = h.sandbox.world.lti as { registrationErrors?: string[] };
    lw.registrationErrors = ['scope: Invalid scopes: https://example.invalid/scope'];
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const frame = await openRegistration(page, fresh);
      expect(await frame.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('canvas_refused');
      expect(await frame.locator('[data-refusal]').textContent()).toContain('HTTP 422: Unprocessable Entity');
      // Close hands the window back too.
      await frame.locator('[data-lti-close]').click();
      await page.waitForURL(/\/__lti\/register\/review/);
      await context.close();
    } finally {
      delete lw.registrationErrors;
    }
    expect((await h.container.integrations.get(fresh))?.lti).toBeUndefined();
  });

  it('a foreign root account is refused: the page names the account Canvas gave, and nothing is saved', async () => {
    // The integration's Canvas token reads its root account's lti_guid; a registration token from another root account names another.
    const t = h.sandbox.state.issueToken(h.sandbox.state.user('1')!, h.sandbox.state.findKey('10000000000001')!, []);
    await h.container.integrations.saveToken(fresh, { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: null, ownerCanvasId: '1', ownerName: 'Ada Admin', scopes: [] });
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const keysBefore = h.sandbox.world.lti ? (h.sandbox.world.lti as { tools: unknown[] }).tools.length : 0;
    const context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${h.sandbox.url}/__lti/register?root_account=77&url=${encodeURIComponent(registerUrl(fresh))}`);
    await waitInFrame(page, '#tool', '[data-lti-page="register"]');
    const frame = page.frameLocator('#tool');
    expect(await frame.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('foreign_account');
    expect(await frame.locator('[data-account-name]').textContent()).toBe('Another institution (account 77)');
    expect(await frame.locator('[data-refusal]').textContent()).toContain('not the Canvas account this integration is connected to');
    await page.screenshot({ path: join(shots.dir, '03-foreign-account.png'), fullPage: true });
    expect((await h.container.integrations.get(fresh))?.lti).toBeUndefined();
    expect(h.sandbox.world.lti ? (h.sandbox.world.lti as { tools: unknown[] }).tools.length : 0).toBe(keysBefore);
    // The integration's own root account registers with the same token check in place.
    await h.container.ltiRegistration.openWindow(fresh, staff);
    const own = await openRegistration(page, fresh);
    expect(await own.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('registered');
    await context.close();
  });

  it('refuses while nobody opened registration by URL', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const frame = await openRegistration(page, fresh);
    expect(await frame.locator('[data-lti-page="register"]').getAttribute('data-lti-code')).toBe('not_open');
    expect((await h.container.integrations.get(fresh))?.lti).toBeUndefined();
    await context.close();
  });
});
