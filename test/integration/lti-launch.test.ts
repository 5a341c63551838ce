import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabases } from '../support/databases.js';
import { COURSE_ID, DEPLOYMENT_ID, launchUntilForm, LTI_CLIENT_ID, ltiCode, miniBrowser, seedCourseRoster, startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';
import { firstGroup } from '../support/first-group.js';

/**
 * LTI 1.3 launches end to end against the sandbox platform: login initiation → authorize →
 * RS256 id_token → ltijs validation → hand-over → our page; plus tool configuration and framing.
 * ltijs is one singleton per process, so this file runs on ONE database: Postgres when
 * TEST_DATABASE_URL is set (CI), else SQLite; the other LTI files run on SQLite. ltijs keeps its
 * records in the service's own store either way (src/lti/kysely-lti-database.ts).
 */
let h: LtiHarness;

beforeAll(async () => {
  h = await startLtiHarness({ tdb: testDatabases().at(-1) });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const NRPS = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';

describe('LTI launch from the sandbox platform', () => {
  it('an admin launching from account navigation lands on LMS Settings, signed in for that integration only', async () => {
    const b = miniBrowser();
    const form = await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' });
    expect(form.status).toBe(200);
    const landed = await b.submitForm(form);
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);

    const own = await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`);
    expect(own.status).toBe(200);
    expect(own.body).toContain('data-lti-page="setup"');

    const other = await b.get(`${h.appUrl}/integrations/${h.integrationB}/lti`);
    expect(other.status).toBe(403);
    expect(other.body).not.toContain('Institution B');
  });

  it('an instructor launching into a course no refresh has recorded yet sees the title Canvas sent, not “Course”', async () => {
    const b = miniBrowser();
    const landed = await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation' }));
    expect(new URL(landed.url).pathname).toBe('/launch/course');
    expect(landed.body).toContain('<h1>Chemistry 101</h1>');
    expect(landed.body).toContain('<title>Chemistry 101 · canvas-companion</title>');
    expect(landed.body).toContain('has not been refreshed from Canvas yet');
  });

  it('an instructor launching from course navigation sees that course read-only, with the NRPS cross-check', async () => {
    await seedCourseRoster(h);

    const b = miniBrowser();
    const landed = await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation' }));
    expect(new URL(landed.url).pathname).toBe('/launch/course');
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('Sam Student');
    expect(landed.body).toContain("not one of the student roles");
    expect(landed.body).toContain('data-nrps-differences="1"');
    expect(/data-nrps-only="canvas">[\s\S]*Hana Hidden/.test(landed.body)).toBe(true);
    expect(landed.body).not.toContain('<form method="post"'); // read-only
    expect(h.platform.issuedServiceTokens()).toBeGreaterThan(0);

    // The instructor session reaches neither the integration's admin pages nor the API.
    expect((await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`)).status).toBe(403);
    expect((await b.get(`${h.appUrl}/api/v1/integrations/${h.integrationA}`)).status).toBe(401);
  });

  it('an active learner with no ID of the chosen type is counted as skipped in the cross-check, with the reason, not as missing from the roster', async () => {
    const db = h.container.store.db;
    if (!(await db.selectFrom('courses').select('canvas_id').where('integration_id', '=', h.integrationA).where('canvas_id', '=', COURSE_ID).executeTakeFirst())) await seedCourseRoster(h);
    // Canvas lists Nia as an active learner in Names and Roles; she has no SIS id, so the roster skipped her.
    const world = h.sandbox.world;
    world.users.push({ id: '6', name: 'Nia NoId', sortableName: 'NoId, Nia', loginId: 'u6', email: 'u6@a.example', password: 'pw' });
    world.enrollments.push({ id: '306', userId: '6', courseId: COURSE_ID, sectionId: '200', type: 'StudentEnrollment', role: 'StudentEnrollment', state: 'active' });
    const now = new Date().toISOString();
    await db
      .insertInto('roster_entries')
      .values({
        integration_id: h.integrationA, course_canvas_id: COURSE_ID, canvas_user_id: '6', name: 'Nia NoId', roles: '["StudentEnrollment"]', enrollment_states: '["active"]',
        external_id: null, section_ids: '["200"]', exam_taker: 0, reasons: '["missing_user_id"]', synced_at: now, job_id: null,
      })
      .execute();
    try {
      const b = miniBrowser();
      const landed = await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation' }));
      expect(landed.status).toBe(200);
      expect(landed.body).toContain('data-nrps-skipped="1"');
      expect(landed.body).toContain('Nia NoId: The person has no ID of the chosen type');
      const onlyInCanvas = /<ul data-nrps-only="canvas">([\s\S]*?)<\/ul>/.exec(landed.body)?.[1] ?? '';
      expect(onlyInCanvas).toContain('Hana Hidden');
      expect(onlyInCanvas).not.toContain('Nia NoId');
      // Still one difference (Hana, hidden from the API user): Nia is the same person on both lists.
      expect(landed.body).toContain('data-nrps-differences="1"');
    } finally {
      world.enrollments.splice(world.enrollments.findIndex((e) => e.id === '306'), 1);
      world.users.splice(world.users.findIndex((u) => u.id === '6'), 1);
      await db.deleteFrom('roster_entries').where('integration_id', '=', h.integrationA).where('canvas_user_id', '=', '6').execute();
    }
  });

  it('a student launch gets a polite page and no session', async () => {
    const b = miniBrowser();
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.student, course: COURSE_ID, placement: 'course_navigation' }));
    expect(page.status).toBe(200);
    expect(ltiCode(page)).toBe('not_for_this_role');
    expect((await b.get(`${h.appUrl}/launch/course`)).status).toBe(403);
  });

  it('an instructor opening account navigation is not treated as an admin', async () => {
    const b = miniBrowser();
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, placement: 'account_navigation' }));
    expect(ltiCode(page)).toBe('not_for_this_role');
  });
});

describe('LTI setup page', () => {
  it('an admin checks and saves the LTI key values; bad values are named, not saved', async () => {
    const b = miniBrowser();
    await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    const page = await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`);
    expect(page.body).toContain(`${h.appUrl}/lti/config.json?integration=${h.integrationA}`);
    const csrf = firstGroup(/name="_csrf" value="([^"]+)"/, page.body);

    const bad = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti`, { _csrf: csrf, environment: 'custom', clientId: 'abc', deploymentIds: '' });
    // Post/Redirect/Get: the refusal is shown on the LTI page the POST redirects to.
    expect(bad.status).toBe(200);
    expect(bad.body).toContain('data-field="clientId"');

    const ok = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti`, {
      _csrf: csrf, environment: 'custom', clientId: LTI_CLIENT_ID, deploymentIds: `${DEPLOYMENT_ID}\n2:second`, issuer: h.sandbox.url,
    });
    expect(ok.status).toBe(200);
    const saved = await h.container.integrations.get(h.integrationA);
    expect(saved?.lti?.deploymentIds).toEqual([DEPLOYMENT_ID, '2:second']);

    const noCsrf = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti`, { environment: 'custom', clientId: LTI_CLIENT_ID, deploymentIds: DEPLOYMENT_ID });
    expect(noCsrf.status).toBe(403);
  });
});

describe('Register by URL on the LTI page', () => {
  it('the institution admin copies the registration URL and opens registration by URL for an hour, or closes it', async () => {
    const b = miniBrowser();
    await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    const page = await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`);
    expect(page.body).toContain(`<code id="register-url" data-value="register-url">${h.appUrl}/lti/register?integration=${h.integrationA}</code>`);
    expect(page.body).toContain('data-lti-section="register-by-url" data-open="0"');
    expect(page.body).toContain('A registration by URL replaces it.');
    const csrf = firstGroup(/name="_csrf" value="([^"]+)"/, page.body);

    const opened = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti/registration-window`, { _csrf: csrf, action: 'open' });
    expect(opened.status).toBe(200);
    expect(opened.body).toContain('data-lti-section="register-by-url" data-open="1"');
    const w = (await h.container.ltiRegistration.status(h.integrationA)).window;
    expect(Date.parse(w!.expiresAt) - Date.now()).toBeGreaterThan(59 * 60 * 1000);
    const audit = await h.container.audit.list(h.integrationA);
    expect(audit.find((e) => e.action === 'lti.registration.window_opened')?.actor).toBe(w!.openedBy);

    const unknown = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti/registration-window`, { _csrf: csrf, action: 'forever' });
    expect(unknown.status).toBe(400);
    const closed = await b.post(`${h.appUrl}/integrations/${h.integrationA}/lti/registration-window`, { _csrf: csrf, action: 'close' });
    expect(closed.body).toContain('data-open="0"');
    expect((await h.container.ltiRegistration.status(h.integrationA)).window).toBeNull();
  });

  it('a registration token Canvas let expire (past its hour) shows that Canvas refused the token, and what to do', async () => {
    const staff = { scope: 'platform' as const, label: 'staff:test@example.edu' };
    await h.container.ltiRegistration.openWindow(h.integrationA, staff);
    const before = (await h.container.integrations.get(h.integrationA))?.lti;
    const token = await h.platform.registrationToken();
    const openid = `${h.sandbox.url}/api/lti/security/openid-configuration`;
    h.sandboxAhead.ms = 3601 * 1000;
    try {
      const res = await fetch(`${h.appUrl}/lti/register?integration=${h.integrationA}&openid_configuration=${encodeURIComponent(openid)}&registration_token=${encodeURIComponent(token)}`);
      expect(res.status).toBe(400);
      const body = await res.text();
      expect(body).toContain('data-lti-code="token_refused"');
      expect(body).toContain('Canvas refused the registration token');
      expect(body).toContain('The token is valid for one hour and one registration.');
    } finally {
      h.sandboxAhead.ms = 0;
      await h.container.ltiRegistration.closeWindow(h.integrationA, staff);
    }
    expect((await h.container.integrations.get(h.integrationA))?.lti).toEqual(before);
  });

  it('stores the scopes Canvas granted; when the admin switches Names and Roles off at Canvas’s review, the LTI page says so and how to fix it', async () => {
    const staff = { scope: 'platform' as const, label: 'staff:test@example.edu' };
    const c = await h.container.integrationSettings.create(
      { name: 'Institution S', canvasUrl: h.sandbox.url, clientId: '10000000000001', accountId: 'self', courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] },
      staff,
    );
    try {
      await registerAndSwitchOffNamesAndRoles(c.id);
    } finally {
      // Its key (a sandbox client id the later tests reuse) must not stay held by this integration.
      await h.container.integrationSettings.delete(c.id, staff);
    }
  });

  async function registerAndSwitchOffNamesAndRoles(id: string): Promise<void> {
    const c = { id };
    await h.container.ltiRegistration.openWindow(c.id, { scope: 'platform', label: 'staff:test@example.edu' });
    const admin = await (await fetch(`${h.sandbox.url}/__lti/register?url=${encodeURIComponent(`${h.appUrl}/lti/register?integration=${c.id}`)}`)).text();
    const src = /id="tool" title="Tool registration" src="([^"]+)"/.exec(admin)![1]!.replace(/&amp;/g, '&');
    const registered = await (await fetch(src)).text();
    expect(registered).toContain('data-lti-code="registered"');
    const lti = (await h.container.integrations.get(c.id))!.lti!;
    expect(lti.grantedScopes).toEqual([NRPS]);

    // The admin unticks Names and Roles on Canvas's review and installs.
    const review = await (await fetch(`${h.sandbox.url}/__lti/register/review?uuid=${encodeURIComponent(/data-uuid="([^"]+)"/.exec(admin)![1]!)}`)).text();
    expect(review).toContain('id="scope-nrps" name="nrps" value="on" checked');
    const installed = await fetch(`${h.sandbox.url}/__lti/register/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: lti.clientId }) });
    expect(installed.status).toBe(200);

    // A course launch comes without the Names and Roles claim: the key no longer has the scope.
    const b = miniBrowser();
    await b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation', client_id: lti.clientId }));
    expect((await h.container.integrations.get(c.id))!.lti!.grantedScopes).toEqual([]);
    // The institution's admin opens the tool from account navigation and reads the LTI page.
    const adminBrowser = miniBrowser();
    await adminBrowser.submitForm(await launchUntilForm(adminBrowser, h, { user: USERS.admin, placement: 'account_navigation', client_id: lti.clientId }));
    const page = await adminBrowser.get(`${h.appUrl}/integrations/${c.id}/lti`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-check="names_and_roles_scope" data-ok="0"');
    expect(page.body).toContain('switched off at Canvas&#39;s review');
    expect(page.body).toContain(`edit the LTI key (Client ID ${lti.clientId}), turn on the Names and Roles scope`);
  }

  it('GET /lti/register without Canvas’s parameters or for an unknown integration explains itself', async () => {
    const unknown = await fetch(`${h.appUrl}/lti/register?integration=nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('data-lti-code="unknown_integration"');
    const bare = await fetch(`${h.appUrl}/lti/register?integration=${h.integrationA}`);
    expect(bare.status).toBe(400);
    const body = await bare.text();
    expect(body).toContain('data-lti-code="missing_parameters"');
    expect(body).toContain('+ LTI Registration');
    // Canvas frames it.
    expect(bare.headers.get('content-security-policy')).toContain('https://*.instructure.com');
    expect(bare.headers.get('x-frame-options')).toBeNull();
  });
});

describe('tool configuration', () => {
  it('serves the Canvas developer key JSON per integration', async () => {
    const res = await fetch(`${h.appUrl}/lti/config.json?integration=${h.integrationA}`);
    expect(res.status).toBe(200);
    const cfg = (await res.json()) as Record<string, any>;
    expect(cfg.oidc_initiation_url).toBe(`${h.appUrl}/lti/login`);
    expect(cfg.target_link_uri).toBe(`${h.appUrl}/lti`);
    expect(cfg.public_jwk_url).toBe(`${h.appUrl}/lti/keys`);
    expect(cfg.scopes).toContain('https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly');
    const ext = cfg.extensions[0];
    expect(ext.platform).toBe('canvas.instructure.com');
    expect(ext.privacy_level).toBe('public');
    expect(ext.settings.placements.map((p: any) => [p.placement, p.message_type])).toEqual([
      ['account_navigation', 'LtiResourceLinkRequest'],
      ['course_navigation', 'LtiResourceLinkRequest'],
    ]);
  });

  it('answers 404 for an unknown integration', async () => {
    expect((await fetch(`${h.appUrl}/lti/config.json?integration=nope`)).status).toBe(404);
  });

  it('publishes a JWKS with the key registered for each platform', async () => {
    const keys = (await (await fetch(`${h.appUrl}/lti/keys`)).json()) as { keys: Array<{ kid: string; alg: string; d?: string }> };
    expect(keys.keys.length).toBeGreaterThanOrEqual(1);
    expect(keys.keys.every((k) => k.alg === 'RS256' && k.d === undefined)).toBe(true);
  });
});

describe('framing', () => {
  it("lets Canvas frame the tool: frame-ancestors lists 'self', *.instructure.com and the integration's own Canvas, no X-Frame-Options", async () => {
    const res = await fetch(`${h.appUrl}/lti/login?${new URLSearchParams({ iss: h.sandbox.url, login_hint: USERS.admin, target_link_uri: `${h.appUrl}/lti`, client_id: LTI_CLIENT_ID, lti_deployment_id: 'nope' })}`, { redirect: 'manual' });
    const csp = res.headers.get('content-security-policy') ?? '';
    const fa = /frame-ancestors ([^;]+)/.exec(csp)?.[1]?.split(' ') ?? [];
    expect(fa).toEqual(["'self'", 'https://*.instructure.com', h.sandbox.url]);
    expect(res.headers.get('x-frame-options')).toBeNull();
  });

  it('does not let Canvas frame pages outside an LTI session', async () => {
    const res = await fetch(`${h.appUrl}/login`);
    const fa = /frame-ancestors ([^;]+)/.exec(res.headers.get('content-security-policy') ?? '')?.[1]?.split(' ');
    expect(fa).toEqual(["'self'"]);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });
});


describe('ltijs platform list follows the integrations before the save answers', () => {
  /**
   * The kids /lti/keys serves, over a fresh connection each time: a 4096-bit key pair is generated
   * synchronously (inside ltijs), and a kept-alive socket left idle meanwhile may be closed by the
   * server just as it is reused.
   */
  const kids = () =>
    new Promise<string[]>((resolve, reject) => {
      get(`${h.appUrl}/lti/keys`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += String(d)));
        res.on('end', () => resolve((JSON.parse(body) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort()));
      }).on('error', reject);
    });
  /** The kid ltijs registered for a platform, read from its table. */
  const platformKid = async (issuer: string, clientId: string) =>
    (await h.container.store.db.selectFrom('lti_platforms' as never).select('kid' as never).where('platform_url' as never, '=', issuer as never).where('client_id' as never, '=', clientId as never).executeTakeFirst() as { kid: string } | undefined)?.kid;
  const base = { canvasUrl: 'https://c.instructure.com', clientId: '30000000000001', accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };

  it('a saved registration’s key is in /lti/keys when the save returns; a changed client id replaces it, a delete removes it', async () => {
    const before = await kids();
    const c = await h.container.integrations.create({ ...base, name: 'Institution C', lti: { environment: 'production', clientId: '30000000000099', deploymentIds: ['3:c'] } });
    const kidC = await platformKid('https://canvas.instructure.com', '30000000000099');
    expect(kidC).toBeDefined();
    expect(await kids()).toEqual([...before, kidC!].sort());

    await h.container.integrations.update(c.id, { lti: { environment: 'production', clientId: '30000000000100', deploymentIds: ['3:c'] } });
    const kidC2 = await platformKid('https://canvas.instructure.com', '30000000000100');
    expect(kidC2).toBeDefined();
    expect(await platformKid('https://canvas.instructure.com', '30000000000099')).toBeUndefined();
    expect(await kids()).toEqual([...before, kidC2!].sort());

    await h.container.integrations.delete(c.id);
    expect(await kids()).toEqual(before);
  }, 60_000);

  it('through the JSON API: right after the PATCH answers 200, GET /lti/keys holds the new kid', async () => {
    const { token } = await h.container.apiTokens.create({ name: 'lti keys test' });
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${h.appUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const created = await api('POST', '/integrations', { ...base, name: 'Institution D', clientId: '40000000000001' });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    const before = await kids();

    const patched = await api('PATCH', `/integrations/${id}`, { lti: { environment: 'test', clientId: '40000000000099', deploymentIds: ['4:d'] } });
    expect(patched.status).toBe(200);
    const after = await kids();
    const kidD = await platformKid('https://canvas.test.instructure.com', '40000000000099');
    expect(after).toEqual([...before, kidD!].sort());

    expect((await api('DELETE', `/integrations/${id}`)).status).toBe(204);
    expect(await kids()).toEqual(before);
  }, 60_000);

  it('through the LTI setup page: right after the save redirects, GET /lti/keys holds the new kid', async () => {
    const b = miniBrowser();
    await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    const csrf = firstGroup(/name="_csrf" value="([^"]+)"/, (await b.get(`${h.appUrl}/integrations/${h.integrationA}/lti`)).body);
    const save = (clientId: string) =>
      b.post(`${h.appUrl}/integrations/${h.integrationA}/lti`, { _csrf: csrf, environment: 'custom', clientId, deploymentIds: DEPLOYMENT_ID, issuer: h.sandbox.url });
    const kidA = await platformKid(h.sandbox.url, LTI_CLIENT_ID);
    try {
      const saved = await save('10000000000078');
      expect(saved.status).toBe(200);
      const kidNew = await platformKid(h.sandbox.url, '10000000000078');
      expect(kidNew).toBeDefined();
      const now = await kids();
      expect(now).toContain(kidNew);
      expect(now).not.toContain(kidA);
    } finally {
      await save(LTI_CLIENT_ID);
    }
  }, 60_000);
});
