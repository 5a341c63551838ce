import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoLtiHost, demoRegisterLink, pointDemoSignInAtLocalhost, seedRegistrationDemo } from '../../src/demo-setup.js';
import { miniBrowser, startLtiHarness, type LtiHarness } from '../support/lti-harness.js';

/**
 * The demo's walk-through of Dynamic Registration, as `npm run demo` sets it up: the seeded
 * integration with registration by URL open, the printed register link, the registration through
 * the sandbox, demo staff's step pointing the key's sign-in at `localhost`, and the first launch
 * adding the deployment. A second visit of the link after a registration finds the window closed.
 */
describe('the demo walks through a Dynamic Registration', () => {
  let h: LtiHarness;

  beforeAll(async () => {
    h = await startLtiHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('seed → register by the printed link → client id saved → sign-in at localhost → first launch adds the deployment', async () => {
    const seeded = await seedRegistrationDemo(h.container, h.sandbox.url);
    expect(seeded.lti).toBeUndefined();
    expect((await h.container.ltiRegistration.status(seeded.id)).window).not.toBeNull();
    // Nothing to point at before a key exists.
    expect(await pointDemoSignInAtLocalhost(h.container, seeded.id, h.sandbox.url)).toBe(false);

    const link = demoRegisterLink(h.sandbox.url, h.appUrl, seeded.id);
    const admin = await (await fetch(link)).text();
    const src = /id="tool" title="Tool registration" src="([^"]+)"/.exec(admin)![1]!.replace(/&amp;/g, '&');
    expect(src.startsWith(`${h.appUrl}/lti/register?integration=${seeded.id}&`)).toBe(true);
    const page = await (await fetch(src)).text();
    expect(page).toContain('data-lti-code="registered"');
    const clientId = /data-registered="client-id">(\d+)</.exec(page)![1]!;
    expect((await h.container.integrations.get(seeded.id))?.lti).toMatchObject({ environment: 'custom', clientId, deploymentIds: [], issuer: h.sandbox.url });

    // Demo staff's step after the registration: launches are sent to the sandbox as localhost.
    expect(await pointDemoSignInAtLocalhost(h.container, seeded.id, h.sandbox.url)).toBe(true);
    expect((await h.container.integrations.get(seeded.id))?.lti?.authUrl).toBe(`${demoLtiHost(h.sandbox.url)}/api/lti/authorize_redirect`);
    expect(await pointDemoSignInAtLocalhost(h.container, seeded.id, h.sandbox.url)).toBe(false);

    // The admin installs it at the sandbox's review; the first launch adds the deployment.
    const installed = await (await fetch(`${h.sandbox.url}/__lti/register/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, nrps: 'on' }) })).text();
    const deploymentId = /<code>([^<]+)<\/code>/.exec(installed)![1]!;
    const b = miniBrowser();
    const landed = await b.submitForm(await b.get(`${demoLtiHost(h.sandbox.url)}/__lti/launch?user=1&placement=account_navigation&client_id=${clientId}`));
    expect(new URL(landed.url).pathname).toBe(`/integrations/${seeded.id}`);
    expect((await h.container.integrations.get(seeded.id))?.lti?.deploymentIds).toEqual([deploymentId]);

    // Opening the printed link again: the window admitted its one registration and closed.
    const again = await (await fetch(/id="tool" title="Tool registration" src="([^"]+)"/.exec(await (await fetch(link)).text())![1]!.replace(/&amp;/g, '&'))).text();
    expect(again).toContain('data-lti-code="not_open"');
  });
});
