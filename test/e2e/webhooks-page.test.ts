import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';
import { startReceiver } from '../support/webhook-receiver.js';

const shots = screenshotFolder('webhooks');

/** The staff Webhooks page: add an endpoint (secret shown once), see the delivery log, redeliver. */
describe('the webhooks page (chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!, { courses: 4 });
    h.c.webhooks.worker.start();
    rx = await startReceiver();
    await h.c.staff.create({ email: 'hooks-e2e@example.edu', name: 'Hana Hooks', password: 'webhook page staff passphrase' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.appUrl}/login`);
    await page.fill('#email', 'hooks-e2e@example.edu');
    await page.fill('#password', 'webhook page staff passphrase');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  });
  afterAll(async () => {
    await browser?.close();
    await h?.c.webhooks.worker.stop();
    await rx?.close();
    await h?.close();
    shots.cleanup();
  });

  it('creates an endpoint showing its secret once, logs the deliveries, and redelivers one with the same webhook-id', async () => {
    await page.goto(`${h.appUrl}/integrations`);
    await page.click('nav a[href="/webhooks"]');
    await page.waitForURL((u) => u.pathname === '/webhooks');
    await page.fill('#webhook-url', rx.url);
    await page.click('form[action="/webhooks"] button[type="submit"]');
    await page.waitForSelector('#new-secret');
    const secret = await page.inputValue('#new-secret');
    expect(secret).toMatch(/^whsec_/);

    // Reloading re-sends the form: no second endpoint, and the secret is not shown again.
    await page.reload();
    expect(await page.locator('#new-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('.notice--warn').textContent()).toContain('already created');
    expect(await h.c.webhooks.service.list()).toHaveLength(1);

    // Something happens: Generate Keys moves an integration's status.
    const id = await h.createIntegration();
    await h.authorize(id);
    const deadline = Date.now() + 20_000;
    while (!rx.received.some((r) => JSON.parse(r.body).data?.to === 'verified') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const hook = rx.received.find((r) => JSON.parse(r.body).data?.to === 'verified')!;
    const msgId = String(hook.headers['webhook-id']);
    expect(new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>)).toMatchObject({ type: 'integration.status_changed' });

    await page.goto(`${h.appUrl}/webhooks`);
    await page.click(`#webhooks a:has-text("${rx.url}")`);
    const row = page.locator(`tr[data-delivery="${msgId}"]`);
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('delivered');
    await row.locator('button:has-text("Redeliver")').click();
    await page.waitForSelector('.notice--ok');
    expect(await page.locator('.notice--ok').textContent()).toContain(msgId);
    const again = Date.now() + 20_000;
    while (rx.received.filter((r) => r.headers['webhook-id'] === msgId).length < 2 && Date.now() < again) await new Promise((r) => setTimeout(r, 50));
    expect(rx.received.filter((r) => r.headers['webhook-id'] === msgId)).toHaveLength(2);
    await page.reload();
    expect(await page.locator(`tr[data-delivery="${msgId}"] td[data-label="Attempts"]`).textContent()).toBe('2');
    await page.screenshot({ path: join(shots.dir, '01-delivery-log.png'), fullPage: true });
  });
});
