import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { COURSE_ID, DEPLOYMENT_ID, launchUntilForm, LTI_CLIENT_ID, ltiCode, miniBrowser, startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';
import { firstGroup } from '../support/first-group.js';
import { testDatabases } from '../support/databases.js';
import { storageHash } from '../../src/lti/platform-storage-repository.js';

/**
 * What the tool refuses, and the fallbacks when a browser blocks cookies. Each crafted id_token
 * goes through a real OIDC login at the tool first (so ltijs has a state cookie to check against).
 */
let h: LtiHarness;

beforeAll(async () => {
  h = await startLtiHarness({ tdb: testDatabases().at(-1) });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

type Browser = ReturnType<typeof miniBrowser>;

/**
 * The two ways a login keeps its state: ltijs's cookie (Canvas sent no `lti_storage_target`, e.g.
 * the mobile apps), and Canvas's platform storage (the browser plays public/lti-storage.js).
 * Every refusal below runs on both.
 */
const PATHS = [
  { name: 'cookie', browser: () => miniBrowser(), loginParams: {}, launchParams: { mobile: '1' } },
  { name: 'platform storage', browser: () => miniBrowser({ platformStorage: true }), loginParams: { lti_storage_target: 'post_message_forwarding' }, launchParams: {} },
] as const;
type LaunchPath = (typeof PATHS)[number];

/** Runs the tool's login step and stops at the redirect to the platform: returns state and nonce. */
async function loginAtTool(b: Browser, path: LaunchPath, over: Record<string, string> = {}): Promise<{ state: string; nonce: string; location: URL }> {
  const params = new URLSearchParams({
    iss: h.sandbox.url,
    login_hint: USERS.admin,
    target_link_uri: `${h.appUrl}/lti`,
    client_id: LTI_CLIENT_ID,
    lti_message_hint: 'unused',
    ...path.loginParams,
    ...over,
  });
  const page = await b.get(`${h.appUrl}/lti/login?${params}`, (next) => next.origin === h.sandbox.url);
  const location = new URL(page.url);
  expect(location.pathname).toBe('/api/lti/authorize_redirect');
  return { state: location.searchParams.get('state')!, nonce: location.searchParams.get('nonce')!, location };
}

async function craftedLaunch(
  b: Browser,
  path: LaunchPath,
  opts: { claims?: Record<string, unknown>; wrongKey?: boolean; nonce?: string; deploymentId?: string; placement?: string; user?: string; login?: { state: string; nonce: string } } = {},
) {
  const { state, nonce } = opts.login ?? (await loginAtTool(b, path));
  const base = await h.platform.launchClaims({
    user: opts.user ?? USERS.admin,
    placement: opts.placement ?? 'account_navigation',
    clientId: LTI_CLIENT_ID,
    deploymentId: opts.deploymentId ?? DEPLOYMENT_ID,
    nonce: opts.nonce ?? nonce,
    origin: h.sandbox.url,
  });
  const idToken = await h.platform.signIdToken({ ...base, ...opts.claims }, { wrongKey: opts.wrongKey });
  return b.post(`${h.appUrl}/lti`, { id_token: idToken, state });
}

describe.each(PATHS)('launch refusals ($name path)', (path) => {
  it('a crafted but correct launch is accepted (the baseline the refusals below differ from)', async () => {
    const b = path.browser();
    const page = await craftedLaunch(b, path);
    expect(new URL(page.url).pathname).toBe(`/integrations/${h.integrationA}`);
  });

  it('a launch from the sandbox is accepted and goes the way this path says', async () => {
    const b = path.browser();
    const form = await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation', ...path.launchParams });
    const { fields } = b.formFields(form);
    expect(await h.container.store.db.selectFrom('lti_storage_logins').select('state_hash').where('state_hash', '=', storageHash(fields.state!)).executeTakeFirst()).toEqual(
      path.name === 'cookie' ? undefined : { state_hash: storageHash(fields.state!) },
    );
    const landed = await b.submitForm(form);
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);
  });

  it('refuses an issuer/client id pair no integration registered, naming both', async () => {
    const b = path.browser();
    const unknownClient = await b.get(
      `${h.appUrl}/lti/login?${new URLSearchParams({ iss: h.sandbox.url, login_hint: '1', target_link_uri: `${h.appUrl}/lti`, client_id: '999', ...path.loginParams })}`,
    );
    expect(unknownClient.status).toBe(400);
    expect(ltiCode(unknownClient)).toBe('unknown_platform');
    expect(unknownClient.body).toContain('999');

    // Institution B's client id is registered, but for the hosted Canvas issuer, not this one.
    const wrongPair = await b.get(
      `${h.appUrl}/lti/login?${new URLSearchParams({ iss: h.sandbox.url, login_hint: '1', target_link_uri: `${h.appUrl}/lti`, client_id: '20000000000099', ...path.loginParams })}`,
    );
    expect(ltiCode(wrongPair)).toBe('unknown_platform');
  });

  it('refuses an id_token whose audience is not a registered client for that issuer', async () => {
    const page = await craftedLaunch(path.browser(), path, { claims: { aud: '20000000000099', azp: '20000000000099' } });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('unknown_platform');
  });

  it('refuses an unknown deployment at login and in the id_token', async () => {
    const b = path.browser();
    const atLogin = await b.get(
      `${h.appUrl}/lti/login?${new URLSearchParams({ iss: h.sandbox.url, login_hint: '1', target_link_uri: `${h.appUrl}/lti`, client_id: LTI_CLIENT_ID, lti_deployment_id: '7:nope', ...path.loginParams })}`,
    );
    expect(atLogin.status).toBe(403);
    expect(ltiCode(atLogin)).toBe('unknown_deployment');
    expect(atLogin.body).toContain('7:nope');

    const inToken = await craftedLaunch(path.browser(), path, { deploymentId: '7:nope' });
    expect(inToken.status).toBe(403);
    expect(ltiCode(inToken)).toBe('unknown_deployment');
  });

  it('refuses a replayed id_token, from the same browser and from another one', async () => {
    const b = path.browser();
    const { action, fields } = b.formFields(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation', ...path.launchParams }));
    const first = await b.post(action, fields);
    expect(new URL(first.url).pathname).toBe(`/integrations/${h.integrationA}`);

    const again = await b.post(action, fields);
    expect(again.status).toBe(401);
    expect(ltiCode(again)).toBe('replayed');

    const elsewhere = await path.browser().post(action, fields);
    expect(elsewhere.status).toBe(401);
    expect(ltiCode(elsewhere)).toBe('replayed');
    expect(elsewhere.body).not.toContain('/launch/handoff');
  });

  it('refuses a token signed with another key under the platform kid', async () => {
    const page = await craftedLaunch(path.browser(), path, { wrongKey: true });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('bad_signature');
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const page = await craftedLaunch(path.browser(), path, { claims: { iat: now - 7200, exp: now - 3600 } });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('expired');
  });

  it('refuses a token issued too long ago even if not expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const page = await craftedLaunch(path.browser(), path, { claims: { iat: now - 600, exp: now + 3000 } });
    expect(ltiCode(page)).toBe('expired');
  });

  it('refuses a nonce that was already used, even in a fresh, correctly signed token', async () => {
    const b = path.browser();
    const login = await loginAtTool(b, path);
    const first = await craftedLaunch(b, path, { login });
    expect(new URL(first.url).pathname).toBe(`/integrations/${h.integrationA}`);
    const second = await craftedLaunch(b, path, { nonce: login.nonce });
    expect(second.status).toBe(401);
    expect(ltiCode(second)).toBe('nonce_reused');
  });

  it('refuses an id_token posted into a browser that did not start its login (login CSRF)', async () => {
    const attacker = path.browser();
    const login = await loginAtTool(attacker, path);
    const victim = path.browser();
    const base = await h.platform.launchClaims({ user: USERS.admin, placement: 'account_navigation', clientId: LTI_CLIENT_ID, deploymentId: DEPLOYMENT_ID, nonce: login.nonce, origin: h.sandbox.url });
    const page = await victim.post(`${h.appUrl}/lti`, { id_token: await h.platform.signIdToken(base), state: login.state });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe(path.name === 'cookie' ? 'cookies_blocked' : 'state_mismatch');
    expect(page.body).not.toContain('/launch/handoff');
  });
});

describe('launch refusals only the platform-storage path has', () => {
  const path = PATHS[1];

  const storageConfig = (body: string) => JSON.parse(firstGroup(/data-config="([^"]*)"/, body).replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Record<string, string>;

  it('the login page may be framed by this Canvas only, runs no inline script, and addresses the frame on the OIDC origin', async () => {
    const params = new URLSearchParams({ iss: h.sandbox.url, login_hint: USERS.admin, target_link_uri: `${h.appUrl}/lti`, client_id: LTI_CLIENT_ID, lti_storage_target: 'post_message_forwarding' });
    const res = await fetch(`${h.appUrl}/lti/login?${params}`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(firstGroup(/data-lti-code="([^"]+)"/, body)).toBe('storage_login');
    const csp = res.headers.get('content-security-policy') ?? '';
    const directive = (name: string) => csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `)) ?? '';
    expect(directive('frame-ancestors').split(/\s+/).slice(1).sort()).toEqual(["'self'", 'https://*.instructure.com', new URL(h.sandbox.url).origin].sort());
    expect(directive('script-src')).toBe("script-src 'self'");
    expect(directive('script-src-attr')).toBe("script-src-attr 'none'");
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect([...body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)]).toEqual([]);
    expect(body).toContain('<script src="/static/lti-storage.js" defer></script>');
    const config = storageConfig(body);
    expect(config).toMatchObject({ mode: 'login', frame: 'post_message_forwarding', frameOrigin: new URL(h.sandbox.url).origin, parentOrigin: new URL(h.sandbox.url).origin });
    const next = new URL(config.next!);
    expect(next.origin + next.pathname).toBe(`${h.sandbox.url}/api/lti/authorize_redirect`);
    expect(Object.fromEntries(next.searchParams)).toMatchObject({ state: config.state, nonce: config.nonce, redirect_uri: `${h.appUrl}/lti`, response_mode: 'form_post', prompt: 'none', scope: 'openid', client_id: LTI_CLIENT_ID });
    expect(new URL(config.fallback!, h.appUrl).searchParams.get('cc_storage')).toBe('off');

    const older = await fetch(`${h.appUrl}/lti/login?${params.toString().replace('post_message_forwarding', '_parent')}`);
    expect(storageConfig(await older.text()).frame).toBe('_parent');
  });

  it('refuses when the state read back from Canvas is not the posted one', async () => {
    const b = path.browser();
    const login = await loginAtTool(b, path);
    b.storage.set(`state-${login.state}`, 'something-else');
    const page = await craftedLaunch(b, path, { login });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('state_mismatch');
  });

  it('refuses an id_token whose nonce belongs to another login, even one this browser started', async () => {
    const b = path.browser();
    const one = await loginAtTool(b, path);
    const two = await loginAtTool(b, path);
    const page = await craftedLaunch(b, path, { login: { state: two.state, nonce: one.nonce } });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('nonce_mismatch');
  });

  it('refuses a login whose server record expired', async () => {
    const b = path.browser();
    const login = await loginAtTool(b, path);
    await h.container.store.db.updateTable('lti_storage_logins').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('state_hash', '=', storageHash(login.state)).execute();
    const page = await craftedLaunch(b, path, { login });
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('expired');
  });

  it('refuses when Canvas did not answer the launch page (nothing to compare with)', async () => {
    const b = path.browser();
    const login = await loginAtTool(b, path);
    const page = await craftedLaunch(miniBrowser(), path, { login }); // a browser without the storage frame
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('storage_unavailable');
  });

  /** The read-back post as our page sends it, with made-up headers to play other senders. */
  async function postReadBack(login: { state: string; nonce: string }, headers: Record<string, string>) {
    const base = await h.platform.launchClaims({ user: USERS.admin, placement: 'account_navigation', clientId: LTI_CLIENT_ID, deploymentId: DEPLOYMENT_ID, nonce: login.nonce, origin: h.sandbox.url });
    return fetch(`${h.appUrl}/lti`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ id_token: await h.platform.signIdToken(base), state: login.state, cc_storage_state: login.state, cc_storage_nonce: login.nonce }).toString(),
    });
  }

  it('refuses the read-back values when another site posts them (login CSRF with the attacker’s own state and nonce)', async () => {
    const senders: Array<Record<string, string>> = [{ origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' }, {}];
    for (const headers of senders) {
      const login = await loginAtTool(path.browser(), path); // the attacker's own login: every value is known to them
      const res = await postReadBack(login, headers);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('data-lti-code="state_mismatch"');
    }
  });

  it('the hop from the validated launch to the tool page works once, and only as a same-origin navigation', async () => {
    const login = await loginAtTool(path.browser(), path);
    const res = await postReadBack(login, { origin: new URL(h.appUrl).origin, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(302);
    const ltikUrl = new URL(res.headers.get('location')!, h.appUrl);
    expect(ltikUrl.searchParams.get('ltik')).toBeTruthy();
    // The ltik sent to someone else as a link: not a same-origin navigation, so no session.
    for (const site of ['cross-site', 'none']) {
      const elsewhere = await fetch(ltikUrl, { redirect: 'manual', headers: { 'sec-fetch-site': site } });
      expect(elsewhere.status).toBe(401);
      expect(await elsewhere.text()).toContain('data-lti-code="session_expired"');
    }
    const first = await fetch(ltikUrl, { redirect: 'manual', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toMatch(/^\/launch\/handoff\?token=/);
    const copied = await fetch(ltikUrl, { redirect: 'manual', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(copied.status).toBe(401);
    expect(await copied.text()).toContain('data-lti-code="session_expired"');
  });

  it('with every cookie blocked the launch still validates: the read-only landing shows in the frame, changes continue in a new window', async () => {
    const b = miniBrowser({ platformStorage: true, blockCookies: true });
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    expect(ltiCode(page)).toBe('frame_admin');
    const href = firstGroup(/id="lti-new-window" href="([^"]+)"/, page.body).replace(/&amp;/g, '&');
    const landed = await miniBrowser().get(new URL(href, h.appUrl).toString());
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);
  });
});

describe('tenant isolation', () => {
  it('an admin launched for institution A cannot open B’s pages or API', async () => {
    const b = miniBrowser();
    await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    expect((await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`)).status).toBe(200);
    for (const path of [`/integrations/${h.integrationB}`, `/integrations/${h.integrationB}/lti`, `/integrations/${h.integrationB}/courses`]) {
      const page = await b.get(`${h.appUrl}${path}`);
      expect([403, 404]).toContain(page.status);
      expect(page.body).not.toContain('Institution B');
    }
    const api = await b.get(`${h.appUrl}/api/v1/integrations/${h.integrationB}`);
    expect(api.status).toBe(401);
    expect((await b.get(`${h.appUrl}/integrations`)).body).not.toContain('Institution B');
  });

  it('an instructor session cannot open another course’s page: it only ever shows its own course', async () => {
    const b = miniBrowser();
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation' }));
    expect(new URL(page.url).pathname).toBe('/launch/course');
    expect((await b.get(`${h.appUrl}/launch/course?course=999`)).body).toContain(`data-course-id="${COURSE_ID}"`);
    expect((await b.get(`${h.appUrl}/integrations/${h.integrationA}/courses/999`)).status).toBe(403);
  });
});

describe('blocked cookies', () => {
  it('when the browser keeps no cookies in the frame, the login offers a new window instead of failing', async () => {
    const blocked = miniBrowser({ blockCookies: true });
    const page = await launchUntilForm(blocked, h, { user: USERS.admin, placement: 'account_navigation' });
    expect(page.status).toBe(200);
    expect(ltiCode(page)).toBe('cookies_blocked');
    const href = /id="lti-new-window" href="([^"]+)" target="_blank"/.exec(page.body)?.[1]?.replace(/&amp;/g, '&');
    expect(href).toBeDefined();

    // The new window is a first-party context: the same launch completes there.
    const topLevel = miniBrowser();
    const form = await topLevel.get(new URL(href!, h.appUrl).toString());
    const landed = await topLevel.submitForm(form);
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);
  });

  it('when only ltijs’s state cookie is lost, the launch says so (no MISSING_VALIDATION_COOKIE JSON)', async () => {
    const b = miniBrowser({ blockCookiesNamed: /^state/ });
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    expect(page.status).toBe(401);
    expect(ltiCode(page)).toBe('cookies_blocked');
    expect(page.body).not.toContain('MISSING_VALIDATION_COOKIE');
  });

  it('when the app’s session cookie is blocked in the frame, the hand-over continues in a new window, once', async () => {
    const framed = miniBrowser({ blockCookiesNamed: /^cc\.sid$/ });
    const page = await framed.submitForm(await launchUntilForm(framed, h, { user: USERS.admin, placement: 'account_navigation' }));
    expect(ltiCode(page)).toBe('session_cookie_blocked');
    const href = firstGroup(/id="lti-new-window" href="([^"]+)"/, page.body).replace(/&amp;/g, '&');

    const win = miniBrowser();
    const landed = await win.get(new URL(href, h.appUrl).toString());
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);

    const reuse = await miniBrowser().get(new URL(href, h.appUrl).toString());
    expect(reuse.status).toBe(400);
    expect(ltiCode(reuse)).toBe('handoff_used');
  });

  it('refuses a made-up hand-over token', async () => {
    const page = await miniBrowser().get(`${h.appUrl}/launch/handoff?token=not-a-token`);
    expect(page.status).toBe(400);
    expect(ltiCode(page)).toBe('handoff_unknown');
  });
});
