import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { DEMO_CLIENT_SECRET, DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import { createBrowser, hiddenValue, type Browser } from '../support/browser-flow.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

const PASSWORD = 'a passphrase for generate keys';

async function signInStaff(h: Harness): Promise<Browser> {
  const b = createBrowser();
  const login = await b.go(`${h.appUrl}/login`);
  const page = await b.go(`${h.appUrl}/login`, { form: { _csrf: hiddenValue(login.text, '_csrf'), email: 'staff@example.edu', password: PASSWORD } });
  expect(page.status).toBe(200);
  return b;
}

describe.each(testDatabases())('Generate Keys API, pages, CLI and secrets ($name)', (tdb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(tdb);
    await h.c.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
    h.sandbox.control.setKey({ requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES] });
  });
  afterAll(async () => h.close());

  describe('JSON API', () => {
    it('rejects an unknown body field with 400 naming it', async () => {
      const r = await h.api('POST', '/api/v1/integrations', { name: 'X', canvasUrl: 'https://x.instructure.com', clientId: '1', colour: 'red' });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'validation_failed' });
      expect(r.body.error.message).toContain('colour');
    });

    it('normalises the Canvas URL and never returns the client secret', async () => {
      const r = await h.api('POST', '/api/v1/integrations', { name: 'N', canvasUrl: 'https://School.Instructure.com/courses/1?x=1', clientId: '42', clientSecret: 'super-secret-value-xyz' });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ canvasUrl: 'https://school.instructure.com', clientSecretSet: true, accountId: 'self', studentRoles: ['StudentEnrollment'], status: { state: 'not_connected' } });
      expect(r.text).not.toContain('super-secret-value-xyz');
      const got = await h.api('GET', `/api/v1/integrations/${r.body.id}`);
      expect(got.text).not.toContain('super-secret-value-xyz');
      const patched = await h.api('PATCH', `/api/v1/integrations/${r.body.id}`, { userIdType: 'email' });
      expect(patched.body).toMatchObject({ userIdType: 'email' });
    });

    it('courseAdminRoles: defaults to teachers, is set on create and patch, and validated like studentRoles', async () => {
      const r = await h.api('POST', '/api/v1/integrations', { name: 'Admins', canvasUrl: 'https://admins.instructure.com', clientId: '43' });
      expect(r.body.courseAdminRoles).toEqual(['TeacherEnrollment']);
      const set = await h.api('POST', '/api/v1/integrations', { name: 'Admins 2', canvasUrl: 'https://admins2.instructure.com', clientId: '44', courseAdminRoles: ['TeacherEnrollment', 'TaEnrollment'] });
      expect(set.status).toBe(201);
      expect(set.body.courseAdminRoles).toEqual(['TeacherEnrollment', 'TaEnrollment']);
      const patched = await h.api('PATCH', `/api/v1/integrations/${r.body.id}`, { courseAdminRoles: ['Course Lead'] });
      expect(patched.body.courseAdminRoles).toEqual(['Course Lead']);
      expect((await h.api('GET', `/api/v1/integrations/${r.body.id}`)).body.courseAdminRoles).toEqual(['Course Lead']);
      const empty = await h.api('PATCH', `/api/v1/integrations/${r.body.id}`, { courseAdminRoles: [] });
      expect(empty.status).toBe(400);
      expect(empty.body.error.message).toContain('courseAdminRoles');
    });

    it('refuses a non-digit client id and (in production settings) http Canvas URLs', async () => {
      const r = await h.api('POST', '/api/v1/integrations', { name: 'N', canvasUrl: 'https://a.instructure.com', clientId: 'abc' });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('clientId');
      const { createIntegrationSchemas } = await import('../../src/integrations/integration.js');
      const strict = createIntegrationSchemas({ allowInsecureCanvasUrls: false }).create;
      for (const bad of ['http://school.instructure.com', 'https://127.0.0.1', 'https://10.0.0.5', 'https://localhost:8443', 'https://[::1]']) {
        expect(strict.safeParse({ name: 'n', canvasUrl: bad, clientId: '1' }).success).toBe(false);
      }
      expect(strict.safeParse({ name: 'n', canvasUrl: 'school.instructure.com', clientId: '1' }).success).toBe(true);
    });

    it('answers 404 for an unknown integration and 401 without a token', async () => {
      expect((await h.api('GET', '/api/v1/integrations/nope')).status).toBe(404);
      const anon = await fetch(`${h.appUrl}/api/v1/integrations`);
      expect(anon.status).toBe(401);
    });

    it('returns the exact scope list per feature', async () => {
      const id = await h.createIntegration();
      const all = await h.api('GET', `/api/v1/integrations/${id}/scopes`);
      expect(all.body.scopes).toEqual([...DEMO_SCOPES].sort());
      const conn = await h.api('GET', `/api/v1/integrations/${id}/scopes?features=connection`);
      expect(conn.body.scopes).toContain('url:GET|/api/v1/users/:id');
      expect(conn.body.scopes).not.toContain('url:GET|/api/v1/courses/:course_id/enrollments');
      expect((await h.api('GET', `/api/v1/integrations/${id}/scopes?features=nope`)).status).toBe(400);
    });

    it('diagnoses a URL pasted from a Canvas error redirect', async () => {
      const url =
        'https://exams.example.edu/oauth/callback?error=invalid_scope&error_description=A+requested+scope+is+invalid%2C+unknown%2C+malformed%2C+or+exceeds+the+scope+granted+by+the+resource+owner.+The+following+scopes+were+requested%2C+but+not+granted%3A+url%3AGET%7C%2Fapi%2Fv1%2Faccounts%2C+url%3AGET%7C%2Fapi%2Fv1%2Fusers%2F%3Aid%2C+and+url%3AGET%7C%2Fapi%2Fv1%2Fcourses%2F%3Aid&state=x';
      const r = await h.api('POST', '/api/v1/diagnostics/authorize-url', { url });
      expect(r.body).toMatchObject({ error: 'invalid_scope', reason: 'missing_scopes', missingScopes: ['url:GET|/api/v1/accounts', 'url:GET|/api/v1/users/:id', 'url:GET|/api/v1/courses/:id'] });
      const json = await h.api('POST', '/api/v1/diagnostics/authorize-url', { url: '{"error":"invalid_client","error_description":"unknown client"}' });
      expect(json.body).toMatchObject({ error: 'invalid_client', description: 'unknown client', missingScopes: [] });
    });

    it('verify re-runs the probes and DELETE token revokes at Canvas and deletes locally', async () => {
      const id = await h.createIntegration();
      await h.authorize(id);
      const v = await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
      expect(v.body).toMatchObject({ state: 'verified', reasons: [] });
      const before = h.sandbox.control.activeTokens({}).length;
      const del = await h.api('DELETE', `/api/v1/integrations/${id}/token`);
      expect(del.status).toBe(204);
      expect(h.sandbox.control.activeTokens({}).length).toBe(before - 1);
      expect(await h.c.integrations.getToken(id)).toBeUndefined();
      expect((await h.api('GET', `/api/v1/integrations/${id}`)).body.status.state).toBe('not_connected');
    });
  });

  describe('setup links and pages', () => {
    it('a setup link opens that integration only; another integration is 403', async () => {
      const mine = await h.createIntegration({ name: 'Mine U' });
      const other = await h.createIntegration({ name: 'Other U' });
      const link = await h.api('POST', `/api/v1/integrations/${mine}/setup-links`, {});
      expect(link.status).toBe(201);
      const b = createBrowser();
      const page = await b.go(link.body.url);
      expect(page.url).toBe(`${h.appUrl}/integrations/${mine}`);
      expect(page.text).toContain('Mine U');
      expect((await b.go(`${h.appUrl}/integrations/${other}`)).status).toBe(403);
      expect((await b.go(`${h.appUrl}/integrations`)).status).toBe(403);
      const tampered = await createBrowser().go(link.body.url.replace(/.$/, (ch: string) => (ch === 'A' ? 'B' : 'A')));
      expect(tampered.status).toBe(403);
    });

    it('an admin with a setup link runs preflight and Generate Keys from the LMS Settings page', async () => {
      const id = await h.createIntegration();
      const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
      const b = createBrowser();
      const settings = await b.go(link.body.url);
      const pre = await b.go(`${h.appUrl}/integrations/${id}/preflight`, { form: { _csrf: hiddenValue(settings.text, '_csrf') } });
      expect(pre.text).toContain('id="preflight-result" data-ok="true"');
      const canvas = await b.go(`${h.appUrl}/integrations/${id}/generate-keys`, { form: { _csrf: hiddenValue(pre.text, '_csrf') } });
      const { completeCanvasSide } = await import('../support/browser-flow.js');
      const result = await completeCanvasSide(b, canvas);
      expect(result.text).toContain('data-state="verified"');
      expect(result.text).toContain('id="retry"');
      const configure = await b.go(`${h.appUrl}/integrations/${id}/configure`);
      expect(configure.text).toContain('Exam Student');
      expect(configure.text).not.toContain('configure-locked');
      // Course admin roles beside the student roles, the built-in teacher ticked by default.
      expect(configure.text).toMatch(/name="courseAdminRoles" value="TeacherEnrollment" checked/);
      expect(configure.text).toMatch(/name="courseAdminRoles" value="TaEnrollment">/);
      // Unticking every course admin role is refused, naming the field.
      const none = await b.go(`${h.appUrl}/integrations/${id}/configure`, {
        form: { _csrf: hiddenValue(configure.text, '_csrf'), courseIdType: 'canvas_id', userIdType: 'login_id', studentRoles: 'Exam Student', courseAdminRolesShown: hiddenValue(configure.text, 'courseAdminRolesShown') },
      });
      // Post/Redirect/Get: the refusal comes back on the Configure page, once.
      expect(none.status).toBe(200);
      expect(none.text).toContain('courseAdminRoles needs at least one role');
      // Choosing ID types that need no SIS data, a custom student role and TAs as course admins; the probes re-run.
      const saved = await b.go(`${h.appUrl}/integrations/${id}/configure`, {
        form: { _csrf: hiddenValue(none.text, '_csrf'), courseIdType: 'canvas_id', userIdType: 'login_id', studentRoles: 'Exam Student', courseAdminRolesShown: '1', courseAdminRoles: 'TaEnrollment' },
      });
      expect(saved.status).toBe(200);
      expect((await h.api('GET', `/api/v1/integrations/${id}`)).body).toMatchObject({ courseIdType: 'canvas_id', userIdType: 'login_id', studentRoles: ['Exam Student'], courseAdminRoles: ['TaEnrollment'] });
      // Re-check from the LMS settings page after the key is turned OFF in Canvas.
      h.sandbox.control.setKey({ binding: 'off' });
      try {
        const settingsPage = await b.go(`${h.appUrl}/integrations/${id}`);
        const rechecked = await b.go(`${h.appUrl}/integrations/${id}/verify`, { form: { _csrf: hiddenValue(settingsPage.text, '_csrf') } });
        expect(rechecked.text).toContain('data-reason="developer_key_off"');
        expect(rechecked.text).toContain('badge--failed');
      } finally {
        h.sandbox.control.setKey({ binding: 'on' });
      }
    });

    it('Configure says why it is locked before Generate Keys', async () => {
      const id = await h.createIntegration();
      const b = await signInStaff(h);
      const page = await b.go(`${h.appUrl}/integrations/${id}/configure`);
      expect(page.text).toContain('id="configure-locked"');
      expect(page.text).toContain('Generate Keys has not been completed');
    });

    it('staff pages render: list with badges, scoped token (+ .txt), troubleshooting, audit log', async () => {
      const id = await h.createIntegration({ name: 'Badge U' });
      const b = await signInStaff(h);
      const list = await b.go(`${h.appUrl}/integrations`);
      expect(list.text).toMatch(/Badge U[\s\S]*badge badge--not_connected/);
      const scopes = await b.go(`${h.appUrl}/integrations/${id}/scopes?features=connection`);
      expect(scopes.text).toContain('url:GET|/api/v1/users/:id');
      const txt = await b.go(`${h.appUrl}/integrations/${id}/scopes.txt`);
      expect(txt.text.trim().split('\n')).toEqual([...DEMO_SCOPES].sort());
      const t = await b.go(`${h.appUrl}/integrations/${id}/troubleshoot`);
      const diag = await b.go(`${h.appUrl}/integrations/${id}/troubleshoot`, {
        form: { _csrf: hiddenValue(t.text, '_csrf'), url: 'https://x/oauth/callback?error=invalid_scope&error_description=The+following+scopes+were+requested%2C+but+not+granted%3A+url%3AGET%7C%2Fapi%2Fv1%2Faccounts' },
      });
      expect(diag.text).toContain('id="diagnosed-scopes"');
      expect(diag.text).toContain('url:GET|/api/v1/accounts');
      // An event stored under its old name reads as the current one.
      await h.c.audit.record({ integrationId: id, actor: 'system', action: 'status_changed', detail: {} });
      const audit = await b.go(`${h.appUrl}/integrations/${id}/audit`);
      // Sentences with a link to what they concern, never event names or JSON.
      expect(audit.text).toContain('Created the integration “Badge U”');
      expect(audit.text).toContain('Connection status changed.');
      expect(audit.text).not.toMatch(/integration[._]created|status_changed|\{&quot;/);
    });
  });

  it('CLI: list, status, preflight, scopes, auth-link', async () => {
    const id = await h.createIntegration({ name: 'Cli U' });
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined, readStdin: async () => '', promptSecret: async () => '' };
    const keepOpen = async () => ({ ...h.c, close: async () => undefined }) as Container;
    expect(await runCli(['integrations', 'list'], {}, io, keepOpen)).toBe(0);
    expect(out.join('\n')).toContain('Cli U');
    out.length = 0;
    expect(await runCli(['integrations', 'preflight', id], {}, io, keepOpen)).toBe(0);
    expect(out[0]).toBe('Ready for Generate Keys.');
    out.length = 0;
    expect(await runCli(['integrations', 'scopes', '--features', 'roster_sync'], {}, io, keepOpen)).toBe(0);
    expect(out).toEqual(['url:GET|/api/v1/courses/:course_id/enrollments']);
    out.length = 0;
    expect(await runCli(['integrations', 'auth-link', id], {}, io, keepOpen)).toBe(0);
    const b = createBrowser();
    const { completeCanvasSide } = await import('../support/browser-flow.js');
    await completeCanvasSide(b, await b.go(out[0]!));
    out.length = 0;
    expect(await runCli(['integrations', 'status', id, '--json'], {}, io, keepOpen)).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ state: 'verified' });
    h.sandbox.control.setKey({ binding: 'off' });
    try {
      expect(await runCli(['integrations', 'preflight', id], {}, io, keepOpen)).toBe(2);
    } finally {
      h.sandbox.control.setKey({ binding: 'on' });
    }
  });

  it('secrets: after a full flow no client secret, token, code or PKCE verifier is in the database, logs, pages or API answers', async () => {
    const id = await h.createIntegration({ name: 'Secrets U' });
    h.tokenCalls.length = 0;
    const { browser } = await h.authorize(id);
    // Force a refresh too, so a refreshed access token exists.
    h.sandbox.control.expireTokens({});
    await h.api('POST', `/api/v1/integrations/${id}/verify`, {});
    const staff = await signInStaff(h);
    for (const path of [`/integrations/${id}`, `/integrations/${id}/audit`, `/integrations/${id}/configure`, '/integrations']) await staff.go(`${h.appUrl}${path}`);
    const apiAnswers = [
      (await h.api('GET', `/api/v1/integrations/${id}`)).text,
      (await h.api('GET', '/api/v1/integrations')).text,
      (await h.api('POST', `/api/v1/integrations/${id}/verify`, {})).text,
    ];

    const secrets = new Set<string>([DEMO_CLIENT_SECRET]);
    for (const call of h.tokenCalls) {
      const form = new URLSearchParams(call.body);
      for (const k of ['code', 'code_verifier', 'refresh_token', 'client_secret']) if (form.get(k)) secrets.add(form.get(k)!);
      try {
        const body = JSON.parse(call.response) as Record<string, unknown>;
        for (const k of ['access_token', 'refresh_token']) if (typeof body[k] === 'string') secrets.add(body[k] as string);
      } catch {
        // not JSON
      }
    }
    expect([...secrets].some((s) => s.length > 60)).toBe(true);
    expect(h.tokenCalls.some((c) => c.body.includes('code_verifier='))).toBe(true);

    let dbText = '';
    if (tdb.name === 'sqlite') {
      const file = (h.c.config.database as { file: string }).file;
      const dir = join(file, '..');
      for (const f of readdirSync(dir)) dbText += readFileSync(join(dir, f)).toString('latin1');
    } else {
      for (const t of ['integrations', 'integration_tokens', 'oauth_states', 'audit_events', 'sessions']) {
        const rows = await h.c.store.pgPool!.query(`select * from ${t}`);
        dbText += JSON.stringify(rows.rows);
      }
    }
    const ours = [...browser.bodies, ...staff.bodies].filter((b) => b.url.startsWith(h.appUrl));
    expect(ours.some((b) => b.url.startsWith(`${h.appUrl}/oauth/callback`))).toBe(true);
    const pages = ours.map((b) => b.text).join('\n');
    const logs = h.c.log.text();
    // Authorization and setup links are credentials too: their tokens are redacted from request logs.
    const linkToken = new URL(browser.hops[0]!).searchParams.get('token')!;
    expect(linkToken.length).toBeGreaterThan(40);
    secrets.add(linkToken);
    for (const secret of secrets) {
      expect(dbText.includes(secret)).toBe(false);
      expect(logs.includes(secret)).toBe(false);
      expect(pages.includes(secret)).toBe(false);
      expect(apiAnswers.join('\n').includes(secret)).toBe(false);
    }
  });
});
