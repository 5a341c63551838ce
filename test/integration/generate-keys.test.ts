import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import { captureIO } from '../support/cli-io.js';
import { completeCanvasSide, createBrowser, hiddenValue } from '../support/browser-flow.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';
import { until } from '../support/instances.js';

const PROBES = ['users_self', 'account_courses', 'course_sections', 'enrollments', 'include_params', 'sis_visibility'];

describe.each(testDatabases())('Generate Keys against the sandbox ($name)', (tdb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(tdb);
  });
  afterAll(async () => h.close());
  beforeEach(() => {
    h.sandbox.control.setKey({ binding: 'on', workflowState: 'active', requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES], redirectUris: [h.c.config.redirectUri] });
    h.sandbox.control.clearFaults();
    h.sandbox.control.suspendUser({ userId: '1', suspended: false });
  });

  const status = async (id: string) => (await h.api('GET', `/api/v1/integrations/${id}`)).body.status;

  it('happy path: authorize as an admin → verified with every probe passing and the token owner recorded', async () => {
    const id = await h.createIntegration();
    const pre = await h.api('POST', `/api/v1/integrations/${id}/preflight`, {});
    expect(pre.body).toMatchObject({ ok: true, reasons: [], missingScopes: [] });
    const { page } = await h.authorize(id);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-state="verified"');
    const s = await status(id);
    expect(s).toMatchObject({ state: 'verified', reasons: [], missingScopes: [], tokenOwner: { id: '1', name: 'Demo Admin' } });
    expect(s.checks.map((c: { name: string }) => c.name)).toEqual(PROBES);
    expect(s.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(s.verifiedAt).not.toBeNull();
  });

  it('access_denied: Cancel twice gives failed/access_denied, then Authorize succeeds', async () => {
    const id = await h.createIntegration();
    for (let i = 0; i < 2; i++) {
      const { page } = await h.authorize(id, { action: 'cancel' });
      expect(page.text).toContain('data-reason="access_denied"');
      expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['access_denied'] });
    }
    await h.authorize(id);
    expect(await status(id)).toMatchObject({ state: 'verified', reasons: [] });
  });

  it('missing_scopes: a scoped key lacking a scope is listed by preflight and by the callback', async () => {
    const lacking = 'url:GET|/api/v1/courses/:course_id/enrollments';
    h.sandbox.control.setKey({ requireScopes: true, scopes: DEMO_SCOPES.filter((s) => s !== lacking) });
    const id = await h.createIntegration();
    const pre = await h.api('POST', `/api/v1/integrations/${id}/preflight`, {});
    expect(pre.body).toMatchObject({ ok: false, reasons: ['missing_scopes'], missingScopes: [lacking] });
    const { page } = await h.authorize(id);
    expect(page.text).toContain('data-reason="missing_scopes"');
    expect(page.text).toContain(lacking);
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['missing_scopes'], missingScopes: [lacking] });
  });

  it('developer_key_off: preflight and callback both report a key that is OFF', async () => {
    h.sandbox.control.setKey({ binding: 'off' });
    const id = await h.createIntegration();
    const pre = await h.api('POST', `/api/v1/integrations/${id}/preflight`, {});
    expect(pre.body).toMatchObject({ ok: false, reasons: ['developer_key_off'] });
    expect(pre.body.help.developer_key_off).toMatch(/ON, then click Generate Keys\.$/);
    await h.authorize(id);
    const s = await status(id);
    expect(s).toMatchObject({ state: 'failed', reasons: ['developer_key_off'] });
    // No token is held yet, so Re-check cannot help: the remedy says Generate Keys.
    expect(s.help.developer_key_off).toMatch(/ON, then click Generate Keys\.$/);
  });

  it('invalid_client: preflight tells a wrong secret and an unknown client id apart', async () => {
    const wrongSecret = await h.createIntegration({ clientSecret: 'not-the-secret' });
    const a = await h.api('POST', `/api/v1/integrations/${wrongSecret}/preflight`, {});
    expect(a.body.reasons).toEqual(['invalid_client']);
    expect(a.body.checks.find((c: { name: string }) => c.name === 'client_credentials')).toMatchObject({ ok: false, reason: 'invalid_client' });
    expect(a.body.checks.find((c: { name: string }) => c.name === 'authorize_endpoint')).toMatchObject({ ok: true });
    const unknown = await h.createIntegration({ clientId: '999' });
    const b = await h.api('POST', `/api/v1/integrations/${unknown}/preflight`, {});
    expect(b.body.checks.map((c: { ok: boolean; reason?: string }) => c.reason)).toEqual(['invalid_client', 'invalid_client']);
  });

  it('invalid_client: a wrong secret fails the code exchange with invalid_client', async () => {
    const id = await h.createIntegration({ clientSecret: 'not-the-secret' });
    await h.authorize(id);
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['invalid_client'] });
  });

  it('preflight against an older Canvas that redirects token-endpoint errors: sends no redirect_uri, follows nothing, still tells invalid_client', async () => {
    h.sandbox.control.configure({ tokenEndpointErrors: 'redirect' });
    try {
      const bad = await h.createIntegration({ clientSecret: 'not-the-secret' });
      const a = await h.api('POST', `/api/v1/integrations/${bad}/preflight`, {});
      expect(a.body.checks.find((c: { name: string }) => c.name === 'client_credentials')).toMatchObject({ ok: false, reason: 'invalid_client' });
      const good = await h.createIntegration();
      expect((await h.api('POST', `/api/v1/integrations/${good}/preflight`, {})).body).toMatchObject({ ok: true, reasons: [] });
      const calls = h.tokenCalls.filter((c) => c.body.includes('canvas-companion-preflight'));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.every((c) => !c.body.includes('redirect_uri'))).toBe(true);
    } finally {
      h.sandbox.control.configure({ tokenEndpointErrors: 'json' });
    }
  });

  it('an older Canvas that redirects token-endpoint errors: a refused code exchange is read from the Location (invalid_client), and refresh errors stay JSON', async () => {
    h.sandbox.control.configure({ tokenEndpointErrors: 'redirect' });
    try {
      const bad = await h.createIntegration({ clientSecret: 'not-the-secret' });
      const { page } = await h.authorize(bad);
      expect(page.text).toContain('data-reason="invalid_client"');
      expect(await status(bad)).toMatchObject({ state: 'failed', reasons: ['invalid_client'] });
      expect((await status(bad)).checks[0].detail).toBe('Canvas answered invalid_client: invalid client');
      const good = await h.createIntegration();
      await h.authorize(good);
      h.sandbox.control.revokeTokens({});
      expect((await h.api('POST', `/api/v1/integrations/${good}/verify`, {})).body).toMatchObject({ state: 'failed', reasons: ['token_revoked'] });
    } finally {
      h.sandbox.control.configure({ tokenEndpointErrors: 'json' });
    }
  });

  it('redirect_uri_mismatch: preflight detects our redirect URI missing from the key', async () => {
    h.sandbox.control.setKey({ redirectUris: ['https://elsewhere.example.edu/cb'] });
    const id = await h.createIntegration();
    expect((await h.api('POST', `/api/v1/integrations/${id}/preflight`, {})).body).toMatchObject({ ok: false, reasons: ['redirect_uri_mismatch'] });
  });

  it('user_not_authorized: an admin who may not create tokens (client_not_allowed_for_user, state dropped)', async () => {
    const id = await h.createIntegration();
    const { page } = await h.authorize(id, { username: 'notoken' });
    expect(page.text).toContain('data-reason="user_not_authorized"');
    const s = await status(id);
    expect(s).toMatchObject({ state: 'failed', reasons: ['user_not_authorized'] });
    // No token was ever issued: the person who authorized is refused, not a token owner's role.
    for (const text of [page.text, s.help.user_not_authorized as string]) {
      expect(text).not.toContain('token owner');
      expect(text).toContain('refused the person who authorized');
    }
  });

  it('includes_not_allowed: "Allow Include Parameters" off on a scoped key → degraded', async () => {
    h.sandbox.control.setKey({ requireScopes: true, allowIncludes: false });
    const id = await h.createIntegration();
    await h.authorize(id);
    const s = await status(id);
    expect(s).toMatchObject({ state: 'degraded', reasons: ['includes_not_allowed'] });
    expect(s.checks.find((c: { name: string }) => c.name === 'include_params')).toMatchObject({ ok: false, reason: 'includes_not_allowed' });
  });

  it('sis_ids_hidden: a token owner without "SIS Data - read" → degraded', async () => {
    const id = await h.createIntegration();
    await h.authorize(id, { username: 'limited' });
    const s = await status(id);
    expect(s).toMatchObject({ state: 'degraded', reasons: ['sis_ids_hidden'], tokenOwner: { id: '2' } });
  });

  it('token_revoked: tokens revoked in Canvas → the health check moves the state to failed', async () => {
    const id = await h.createIntegration();
    await h.authorize(id);
    h.sandbox.control.revokeTokens({});
    const summary = await h.c.connection.runHealthChecks();
    expect(summary.changed).toEqual(expect.arrayContaining([expect.objectContaining({ integrationId: id, from: 'verified', to: 'failed' })]));
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['token_revoked'] });
    const audit = await h.c.audit.list(id);
    expect(audit.some((e) => e.action === 'integration.status_changed' && e.detail.to === 'failed')).toBe(true);
  });

  it('developer_key_off after verification: the health check notices the key turned OFF', async () => {
    const id = await h.createIntegration();
    await h.authorize(id);
    h.sandbox.control.setKey({ binding: 'off' });
    await h.c.connection.runHealthChecks();
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['developer_key_off'] });
  });

  it('invalid_client after verification: a deactivated key fails the refresh with invalid_client', async () => {
    const id = await h.createIntegration();
    await h.authorize(id);
    h.sandbox.control.setKey({ workflowState: 'inactive' });
    await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['invalid_client'] });
  });

  it('token_owner_inactive: the token owner suspended → refresh works but Canvas still refuses while the key is ON', async () => {
    const id = await h.createIntegration();
    await h.authorize(id);
    h.sandbox.control.suspendUser({ userId: '1', suspended: true });
    await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['token_owner_inactive'] });
  });

  it('scope removed from the key: Canvas deletes the tokens, the health check reports missing_scopes naming the scope', async () => {
    const removed = 'url:GET|/api/v1/courses/:course_id/enrollments';
    h.sandbox.control.setKey({ requireScopes: true });
    const id = await h.createIntegration();
    await h.authorize(id);
    expect((await status(id)).state).toBe('verified');
    h.sandbox.control.removeScopes({ scopes: [removed] });
    try {
      await h.c.connection.runHealthChecks();
      const s = await status(id);
      expect(s).toMatchObject({ state: 'failed', reasons: ['missing_scopes'], missingScopes: [removed] });
      expect(s.checks.find((c: { name: string }) => c.name === 'users_self').detail).toContain(removed);
      expect(s.help.missing_scopes).toContain('tick the scopes');
    } finally {
      h.sandbox.control.addScopes({ scopes: [removed] });
    }
  });

  it('scope removed while a job runs: the refused token refresh is stored as missing_scopes naming the scope at once, not token_revoked', async () => {
    const removed = 'url:GET|/api/v1/courses/:course_id/enrollments';
    h.sandbox.control.setKey({ requireScopes: true });
    const id = await h.createIntegration();
    await h.authorize(id);
    expect((await status(id)).state).toBe('verified');
    h.sandbox.control.removeScopes({ scopes: [removed] });
    await h.c.sync.runner.start();
    try {
      const started = await h.c.sync.startRefresh(id, { path: 'rest' });
      let job = started;
      for (; job.state === 'queued' || job.state === 'running'; job = (await h.c.sync.jobs.get(started.id))!) await new Promise((r) => setTimeout(r, 20));
      expect([job.state, job.error?.code]).toEqual(['failed', 'missing_scopes']);
      // No health check or Re-check ran: the job's refused refresh asked the key itself.
      const s = await status(id);
      expect(s).toMatchObject({ state: 'failed', reasons: ['missing_scopes'], missingScopes: [removed] });
      expect(s.checks).toEqual([expect.objectContaining({ name: 'token_refresh', ok: false, reason: 'missing_scopes', detail: expect.stringContaining(removed) })]);
    } finally {
      await h.c.sync.runner.stop();
      h.sandbox.control.addScopes({ scopes: [removed] });
    }
  });

  describe.each(['invalid_grant', 'invalid_request'] as const)('a refresh token Canvas no longer knows (%s)', (mode) => {
    it('ends token_revoked with its remedy, never Canvas\'s raw words', async () => {
      h.sandbox.control.configure({ refreshNotFoundError: mode });
      try {
        const id = await h.createIntegration();
        const { browser } = await h.authorize(id);
        h.sandbox.control.revokeTokens({});
        // A course refresh started with the revoked token fails with the reason, not Canvas's words.
        const started = await h.api('POST', `/api/v1/integrations/${id}/course-refresh`, {});
        expect(started.status).toBe(202);
        await h.c.sync.runner.start();
        try {
          const job = await until('the course refresh ended', async () => {
            const j = await h.c.sync.jobs.get(started.body.id);
            return j && ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
          });
          expect(job.state).toBe('failed');
          expect(job.error?.code).toBe('token_revoked');
          expect(job.error?.message).not.toContain('refresh_token not found');
          expect(job.error?.message).not.toContain(mode);
        } finally {
          await h.c.sync.runner.stop();
        }
        const r = await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
        expect(r.body).toMatchObject({ state: 'failed', reasons: ['token_revoked'] });
        expect(r.body.help.token_revoked).toContain('Generate Keys');
        expect(r.text).not.toContain('refresh_token not found');
        expect(r.text).not.toContain(mode);
        expect(h.tokenCalls.some((c) => c.response.includes(mode))).toBe(true);
        // The settings page shows the remedy, and neither Canvas's words nor the error code.
        const page = (await browser.go(`${h.appUrl}/integrations/${id}`)).text;
        expect(page).toContain('The token was revoked or deleted in Canvas');
        expect(page).toContain('Approved Integrations');
        expect(page).not.toContain('refresh_token not found');
        expect(page).not.toContain(mode);
      } finally {
        h.sandbox.control.configure({ refreshNotFoundError: 'invalid_grant' });
      }
    });
  });

  it('after Disconnect no refresh or sync is offered: the API answers 409 not_connected naming Generate Keys, the courses page hides the buttons', async () => {
    const id = await h.createIntegration();
    const { browser } = await h.authorize(id);
    const courses = `${h.appUrl}/integrations/${id}/courses`;
    expect((await browser.go(courses)).text).toContain('id="refresh-courses"');
    await h.c.sync.lookup(id, '1001');
    expect((await h.api('DELETE', `/api/v1/integrations/${id}/token`)).status).toBe(204);
    for (const [path, body] of [['course-refresh', {}], ['course-sync', { courseIds: ['1001'] }], ['courses/1001/sync', {}]] as const) {
      const r = await h.api('POST', `/api/v1/integrations/${id}/${path}`, body);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('not_connected');
      expect(r.body.error.help).toContain('Generate Keys');
    }
    const page = await browser.go(courses);
    expect(page.text).not.toContain('id="refresh-courses"');
    expect(page.text).not.toContain('id="sync-selected"');
    expect(page.text).toContain('id="not-connected"');
    const course = await browser.go(`${courses}/1001`);
    expect(course.status).toBe(200);
    expect(course.text).not.toContain('id="sync-course"');
    expect(course.text).not.toContain('id="preview-sync"');
    expect(course.text).toContain('id="not-connected"');
    const preview = await browser.go(`${courses}/1001?preview=1`);
    expect(preview.text).not.toContain('id="preview-error"');
    const settings = await browser.go(`${h.appUrl}/integrations/${id}`);
    expect(settings.text).not.toContain('id="recheck"');
    expect(settings.text).not.toContain('id="disconnect"');
  });

  it('key OFF under a held token: the settings page says Re-check restores it, not Generate Keys again; each remedy once', async () => {
    const id = await h.createIntegration();
    const { browser } = await h.authorize(id);
    h.sandbox.control.setKey({ binding: 'off' });
    await h.c.connection.runHealthChecks();
    const page = await browser.go(`${h.appUrl}/integrations/${id}`);
    const remedy = 'then click Re-check: the token this service holds works again as soon as the key is ON';
    expect(page.text).toContain(remedy);
    expect(page.text).toContain('data-reason="developer_key_off"');
    expect(page.text).not.toMatch(/ON, then click Generate Keys/);
    expect(page.text.split(remedy).length - 1).toBe(1);
    // Check configuration too: its row for the key names the reason, and the page keeps one remedy (Re-check).
    const checked = await browser.go(`${h.appUrl}/integrations/${id}/preflight`, { form: { _csrf: hiddenValue(page.text, '_csrf') } });
    expect(checked.text).toContain('id="preflight-result" data-ok="false"');
    expect(checked.text.split(remedy).length - 1).toBe(1);
    expect(checked.text).not.toContain('then click Generate Keys');
    h.sandbox.control.setKey({ binding: 'on' });
    expect((await h.api('POST', `/api/v1/integrations/${id}/verify`, {})).body.state).toBe('verified');
  });

  it('result pages: name and link the integration, say "1 check failed", offer the Re-check they mention, and state mismatch links the settings page', async () => {
    h.sandbox.control.setKey({ requireScopes: true, allowIncludes: false });
    const id = await h.createIntegration();
    const { page, browser } = await h.authorize(id);
    expect(page.text).toContain('id="result-integration">Demo State University<');
    expect(page.text).toContain(`href="/integrations/${id}" id="result-integration-link"`);
    expect(page.text).toContain('but 1 check failed');
    expect(page.text).not.toContain('check(s)');
    expect(page.text).toContain('id="recheck"');
    const remedy = 'next to Enforce Scopes, save, then click Re-check';
    expect(page.text.split(remedy).length - 1).toBe(1);
    const callback = browser.hops.find((u) => u.startsWith(`${h.appUrl}/oauth/callback`))!;
    const replay = await browser.go(callback);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain(`<a href="/integrations/${id}" id="settings-link">`);
  });

  describe('a new attempt while a working token is stored (lastAttempt)', () => {
    it('Cancel at Canvas leaves verified with its checks; lastAttempt says so; a successful attempt sets ok', async () => {
      const id = await h.createIntegration();
      await h.authorize(id);
      const before = await status(id);
      expect(before).toMatchObject({ state: 'verified', lastAttempt: { ok: true } });
      const { page } = await h.authorize(id, { action: 'cancel' });
      expect(page.text).toContain('the connection you had still works');
      const after = await status(id);
      expect(after).toMatchObject({ state: 'verified', reasons: [], checks: before.checks, tokenOwner: before.tokenOwner, verifiedAt: before.verifiedAt });
      expect(after.lastAttempt).toMatchObject({ ok: false, reason: 'access_denied' });
      expect(Date.parse(after.lastAttempt.at)).not.toBeNaN();
      expect(after.lastAttempt.detail).toBeTruthy();
      expect((await h.api('POST', `/api/v1/integrations/${id}/verify`, {})).body).toMatchObject({ state: 'verified', lastAttempt: { ok: false, reason: 'access_denied' } });
      const io = captureIO();
      expect(await runCli(['integrations', 'status', id], {}, io, async () => Object.assign(Object.create(h.c) as Container, { close: async () => undefined }))).toBe(0);
      expect(io.stdout.join('\n')).toMatch(/^state: verified$/m);
      expect(io.stdout.join('\n')).toMatch(/last Generate Keys attempt: failed \(access_denied\) at .*; the connection you had still works/);
      await h.authorize(id);
      expect((await status(id)).lastAttempt).toMatchObject({ ok: true });
      expect((await status(id)).lastAttempt.reason).toBeUndefined();
    });

    it('a user refused at Canvas (client_not_allowed_for_user) leaves a degraded connection degraded', async () => {
      const id = await h.createIntegration();
      await h.authorize(id, { username: 'limited' });
      expect((await status(id)).state).toBe('degraded');
      const { page } = await h.authorize(id, { username: 'notoken' });
      expect(page.text).toContain('the connection you had still works');
      expect(page.text).not.toContain("token owner's role");
      expect(await status(id)).toMatchObject({ state: 'degraded', reasons: ['sis_ids_hidden'], lastAttempt: { ok: false, reason: 'user_not_authorized' } });
    });

    it('without a working token the attempt decides the state as before', async () => {
      const id = await h.createIntegration();
      expect((await status(id)).lastAttempt).toBeNull();
      await h.authorize(id, { action: 'cancel' });
      expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['access_denied'], lastAttempt: { ok: false, reason: 'access_denied' } });
      await h.api('DELETE', `/api/v1/integrations/${id}/token`);
      expect(await status(id)).toMatchObject({ state: 'not_connected', lastAttempt: null });
    });
  });

  it('canvas_unreachable: a 500 from the token endpoint during the exchange, and preflight against a closed port', async () => {
    const id = await h.createIntegration();
    const link = await h.api('POST', `/api/v1/integrations/${id}/authorization-links`, {});
    const browser = createBrowser();
    const first = await browser.go(link.body.url);
    h.sandbox.control.injectFault({ path: '^/login/oauth2/token$', kind: '500', count: 1 });
    await completeCanvasSide(browser, first);
    expect(await status(id)).toMatchObject({ state: 'failed', reasons: ['canvas_unreachable'] });

    const dead = await h.createIntegration({ canvasUrl: 'http://127.0.0.1:9' });
    const pre = await h.api('POST', `/api/v1/integrations/${dead}/preflight`, {});
    expect(pre.body).toMatchObject({ ok: false, reasons: ['canvas_unreachable'] });
  });

  describe('state_invalid (nothing about the existing token changes)', () => {
    it('a replayed callback, a forged state and another browser are refused; the verified token survives', async () => {
      const id = await h.createIntegration();
      const { browser } = await h.authorize(id);
      const before = await status(id);
      expect(before.state).toBe('verified');
      const callback = browser.hops.find((u) => u.startsWith(`${h.appUrl}/oauth/callback`))!;
      const replay = await browser.go(callback);
      expect(replay.status).toBe(400);
      expect(replay.text).toContain('data-reason="state_invalid"');
      const forged = await browser.go(`${h.appUrl}/oauth/callback?code=abc&state=forged`);
      expect(forged.status).toBe(400);

      // Another browser: starts in browser A, the callback arrives in browser B.
      const link = await h.api('POST', `/api/v1/integrations/${id}/authorization-links`, {});
      const a = createBrowser();
      const landing = await a.go(link.body.url);
        const consent = await a.go(`${new URL(landing.url).origin}/login/canvas`, { form: { 'pseudonym_session[unique_id]': 'admin', 'pseudonym_session[password]': 'password' } });
      const accept = await a.request(`${new URL(consent.url).origin}/login/oauth2/accept`, { form: { custom_csrf_token: hiddenValue(consent.text, 'custom_csrf_token') } });
      const cbUrl = accept.headers.get('location')!;
      const b = createBrowser();
      const foreign = await b.go(cbUrl);
      expect(foreign.status).toBe(400);
      expect(foreign.text).toContain('data-reason="state_invalid"');
      const after = await status(id);
      expect(after).toMatchObject({ state: 'verified', tokenOwner: before.tokenOwner });
      expect(await h.c.integrations.getToken(id)).toBeDefined();
    });

    it('a state older than 10 minutes is refused', async () => {
      const id = await h.createIntegration();
      const link = await h.api('POST', `/api/v1/integrations/${id}/authorization-links`, {});
      const browser = createBrowser();
      const first = await browser.go(link.body.url);
      h.advance(11 * 60 * 1000);
      try {
            const page = await completeCanvasSide(browser, first);
        expect(page.status).toBe(400);
        expect(page.text).toContain('data-reason="state_invalid"');
      } finally {
        h.advance(-11 * 60 * 1000);
      }
      expect((await status(id)).state).toBe('pending');
    });
  });

  it('20 concurrent Canvas calls with an expired access token cause exactly one refresh grant', async () => {
    const id = await h.createIntegration();
    await h.authorize(id);
    h.sandbox.control.expireTokens({});
    h.sandbox.control.resetCounters();
    const integration = (await h.c.integrations.get(id))!;
    const client = h.c.canvasFor(integration);
    const auth = h.c.tokenSources.forIntegration(id);
    const results = await Promise.all(Array.from({ length: 20 }, () => client.request<{ id: number }>({ endpoint: 'users.self', path: { id: 'self' } }, auth)));
    expect(results.every((r) => r.body.id === 1)).toBe(true);
    expect(h.sandbox.control.counters().tokenGrants.refresh_token).toBe(1);
  });

  if (tdb.name === 'postgres') {
    it('the same across two service instances: exactly one refresh grant', async () => {
      const id = await h.createIntegration();
      await h.authorize(id);
      const other = await h.secondInstance();
      h.sandbox.control.expireTokens({});
      h.sandbox.control.resetCounters();
      const integration = (await h.c.integrations.get(id))!;
      const calls = Array.from({ length: 20 }, (_, i) => {
        const c = i % 2 ? h.c : other;
        return c.canvasFor(integration).request<{ id: number }>({ endpoint: 'users.self', path: { id: 'self' } }, c.tokenSources.forIntegration(id));
      });
      const results = await Promise.all(calls);
      expect(results.every((r) => r.body.id === 1)).toBe(true);
      expect(h.sandbox.control.counters().tokenGrants.refresh_token).toBe(1);
    });
  }
});
