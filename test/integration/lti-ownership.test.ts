import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPlatformOwners } from '../../src/lti/platform-owners.js';
import { testDatabases } from '../support/databases.js';
import { DEPLOYMENT_ID, launchUntilForm, LTI_CLIENT_ID, ltiCode, miniBrowser, startLtiHarness, USERS, type LtiHarness, type Page } from '../support/lti-harness.js';
import { firstGroup } from '../support/first-group.js';

/**
 * An LTI (issuer, client id) pair belongs to one integration: another institution's session
 * cannot register it (which would make every launch of the owner ambiguous); staff can move it,
 * explicitly. ltijs is one singleton per process, so this file runs on ONE database: Postgres
 * when TEST_DATABASE_URL is set, else SQLite.
 */
let h: LtiHarness;
let apiToken: string;
const PASSWORD = 'violet harbour lantern ownership';

beforeAll(async () => {
  h = await startLtiHarness({ tdb: testDatabases().at(-1) });
  await h.container.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
  apiToken = (await h.container.apiTokens.create({ name: 'ownership test' })).token;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

type Browser = ReturnType<typeof miniBrowser>;
const csrf = (page: Page) => firstGroup(/name="_csrf" value="([^"]*)"/, page.body);

/** A browser signed in through institution B's setup link (a session limited to B). */
async function institutionB(): Promise<Browser> {
  const b = miniBrowser();
  const landed = await b.get(h.container.signedLinks.issue('setup', h.integrationB).url);
  expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationB}`);
  return b;
}

async function staff(): Promise<Browser> {
  const b = miniBrowser();
  const login = await b.get(`${h.appUrl}/login`);
  const page = await b.post(`${h.appUrl}/login`, { _csrf: csrf(login), email: 'staff@example.edu', password: PASSWORD });
  expect(page.status).toBe(200);
  return b;
}

/** Saves A's pair (the sandbox's issuer and LTI client id) on B's LTI page. */
async function claimAsPairOnB(b: Browser, extra: Record<string, string> = {}): Promise<Page> {
  const page = await b.get(`${h.appUrl}/integrations/${h.integrationB}/lti`);
  expect(page.status).toBe(200);
  return b.post(`${h.appUrl}/integrations/${h.integrationB}/lti`, {
    _csrf: csrf(page),
    environment: 'custom',
    clientId: LTI_CLIENT_ID,
    deploymentIds: '9:b',
    issuer: h.sandbox.url,
    ...extra,
  });
}

/**
 * A refused registration answers with a redirect to the LTI page (Post/Redirect/Get), which shows
 * the refusal once: the page read next (a reload) no longer shows it.
 */
async function expectRefusedOnLtiPage(b: Browser, refused: Page): Promise<void> {
  expect(refused.status).toBe(200);
  expect(new URL(refused.url).pathname).toBe(`/integrations/${h.integrationB}/lti`);
  expect(refused.body).toContain('data-form-error');
  const reloaded = await b.get(`${h.appUrl}/integrations/${h.integrationB}/lti`);
  expect(reloaded.status).toBe(200);
  expect(reloaded.body).not.toContain('data-form-error');
}

async function adminLaunchLandsOn(): Promise<string> {
  const b = miniBrowser();
  const landed = await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
  return new URL(landed.url).pathname;
}

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${h.appUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
};

describe('an LTI registration belongs to one integration', () => {
  it("B's session cannot register A's pair (before and after A proved it by a launch), and A's launches keep working", async () => {
    const bBefore = (await h.container.integrations.get(h.integrationB))!.lti;
    const b = await institutionB();
    const refused = await claimAsPairOnB(b);
    await expectRefusedOnLtiPage(b, refused);
    expect(refused.body).toContain('data-field="clientId"');
    expect(refused.body).toContain('already registered for another integration');
    expect(refused.body).not.toContain('Institution A'); // never another institution's name
    expect((await h.container.integrations.get(h.integrationB))!.lti).toEqual(bBefore);

    expect(await adminLaunchLandsOn()).toBe(`/integrations/${h.integrationA}`);
    const owners = createPlatformOwners({ db: h.container.store.db, clock: () => new Date() });
    expect(await owners.holderOf({ issuer: h.sandbox.url, clientId: LTI_CLIENT_ID })).toMatchObject({ integrationId: h.integrationA, provenBy: 'launch' });

    const again = await claimAsPairOnB(b);
    await expectRefusedOnLtiPage(b, again);
    expect(again.body).toContain('already registered for another integration');
    expect(await adminLaunchLandsOn()).toBe(`/integrations/${h.integrationA}`);
    const login = await miniBrowser().get(
      `${h.appUrl}/lti/login?${new URLSearchParams({ iss: h.sandbox.url, login_hint: USERS.admin, target_link_uri: `${h.appUrl}/lti`, client_id: LTI_CLIENT_ID })}`,
    );
    expect(ltiCode(login)).not.toBe('ambiguous_platform');
  });

  it('staff are refused too unless they say "move it here"; the API needs ?moveLtiRegistration=true', async () => {
    const s = await staff();
    const refused = await claimAsPairOnB(s);
    await expectRefusedOnLtiPage(s, refused);
    expect(refused.body).toContain('Institution A'); // staff are told who holds it
    expect(refused.body).toContain('Move it here');

    const lti = {
      environment: 'custom',
      clientId: LTI_CLIENT_ID,
      deploymentIds: [DEPLOYMENT_ID],
      issuer: h.sandbox.url,
      authUrl: `${h.sandbox.url}/api/lti/authorize_redirect`,
      jwksUrl: `${h.sandbox.url}/api/lti/security/jwks`,
    };
    const noFlag = await api('PATCH', `/api/v1/integrations/${h.integrationB}`, { lti });
    expect(noFlag.status).toBe(409);
    expect(noFlag.body.error).toMatchObject({ code: 'conflict' });
    expect(noFlag.body.error.message).toContain('lti.clientId');
    expect(await adminLaunchLandsOn()).toBe(`/integrations/${h.integrationA}`);
  });

  it('staff move the pair explicitly: B gets the launches, A loses the registration, both audit logs say so', async () => {
    const lti = {
      environment: 'custom',
      clientId: LTI_CLIENT_ID,
      deploymentIds: [DEPLOYMENT_ID],
      issuer: h.sandbox.url,
      authUrl: `${h.sandbox.url}/api/lti/authorize_redirect`,
      jwksUrl: `${h.sandbox.url}/api/lti/security/jwks`,
    };
    const moved = await api('PATCH', `/api/v1/integrations/${h.integrationB}?moveLtiRegistration=true`, { lti });
    expect(moved.status).toBe(200);
    expect(moved.body.lti).toMatchObject({ clientId: LTI_CLIENT_ID });
    expect((await h.container.integrations.get(h.integrationA))!.lti).toBeUndefined();
    const owners = createPlatformOwners({ db: h.container.store.db, clock: () => new Date() });
    expect(await owners.holderOf({ issuer: h.sandbox.url, clientId: LTI_CLIENT_ID })).toMatchObject({ integrationId: h.integrationB, provenBy: 'staff' });
    for (const id of [h.integrationA, h.integrationB]) {
      expect((await h.container.audit.list(id)).some((e) => e.action === 'lti.registration.moved')).toBe(true);
    }
    // Let the background platform sync (a new 4096-bit key pair) finish before launching: the syncs
    // are serialised, so this one resolves after those the move started.
    await h.container.lti?.syncIntegration?.(h.integrationB);
    expect(await adminLaunchLandsOn()).toBe(`/integrations/${h.integrationB}`);
    expect((await api('PATCH', `/api/v1/integrations/${h.integrationB}?moveLtiRegistration=maybe`, {})).status).toBe(400);
  }, 120_000);
});
