import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import type { Container } from '../../src/container.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { createLtiPlatform, type LtiPlatformHandle, type LtiWorld } from '../../src/simulator/lti-platform.js';
import { allPermissions, buildDeveloperKey, emptyWorld, type World } from '../../src/simulator/world.js';
import { createTestContainer } from './test-container.js';
import type { TestDatabase } from './databases.js';

/**
 * Shared set-up for the LTI suites: a Canvas sandbox with the LTI platform side, and the app
 * (with ltijs) listening on a loopback port, two integrations (A on the sandbox, B elsewhere).
 * ltijs is a per-process singleton: one harness per test file.
 */
export const LTI_CLIENT_ID = '10000000000077';
export const DEPLOYMENT_ID = '1:5ec0ffee';
export const USERS = { admin: '1', teacher: '2', student: '3', hidden: '4', studentB: '5' } as const;
export const COURSE_ID = '100';

export function ltiWorld(): World {
  const w = emptyWorld('Institution A');
  const user = (id: string, name: string, extra: Partial<World['users'][number]> = {}) =>
    w.users.push({ id, name, sortableName: name, loginId: `u${id}`, email: `u${id}@a.example`, sisUserId: `sis-${id}`, password: 'pw', ...extra });
  user(USERS.admin, 'Ada Admin', { admin: { accountId: '1', role: 'AccountAdmin', permissions: allPermissions() } });
  user(USERS.teacher, 'Tess Teacher');
  user(USERS.student, 'Sam Student');
  user(USERS.hidden, 'Hana Hidden');
  user(USERS.studentB, 'Bo Other');
  w.courses.push({ id: COURSE_ID, accountId: '1', name: 'Chemistry 101', courseCode: 'CHEM101', workflowState: 'available', sisCourseId: 'CHEM-101' });
  w.sections.push({ id: '200', courseId: COURSE_ID, name: 'Section A' });
  const enroll = (id: string, userId: string, type: 'StudentEnrollment' | 'TeacherEnrollment') =>
    w.enrollments.push({ id, userId, courseId: COURSE_ID, sectionId: '200', type, role: type, state: 'active' });
  enroll('300', USERS.teacher, 'TeacherEnrollment');
  enroll('301', USERS.student, 'StudentEnrollment');
  enroll('302', USERS.hidden, 'StudentEnrollment');
  w.developerKeys.push(buildDeveloperKey({ id: '10000000000001', secret: 'api-secret' }));
  return w;
}

export interface LtiHarness {
  container: Container & { log: { text(): string } };
  app: ReturnType<typeof createApp>;
  appUrl: string;
  sandbox: CanvasSandbox;
  platform: LtiPlatformHandle;
  integrationA: string;
  integrationB: string;
  /** How far the sandbox's clock runs ahead of the real one (0 unless a test moves it; set it back after). */
  sandboxAhead: { ms: number };
  close(): Promise<void>;
}

/** Boots sandbox + app. `env` adds configuration (e.g. nothing; PUBLIC_URL is set to the app's address). */
/**
 * `crossSite: true` addresses the app as `localhost` and the sandbox as `127.0.0.1` (two sites, as
 * Canvas and the tool are): the browser then treats the tool inside the sandbox's iframe as a
 * third-party context, while top-level launches still work (the platform's auth step is reached
 * as `localhost` too, so its form post back to the tool is same-site, like the demo).
 */
export async function startLtiHarness(opts: { tdb?: TestDatabase; crossSite?: boolean } = {}): Promise<LtiHarness> {
  const platform = await createLtiPlatform();
  const sandboxAhead = { ms: 0 };
  const sandbox = createCanvasSandbox({ world: ltiWorld(), plugins: [platform.plugin], clock: () => new Date(Date.now() + sandboxAhead.ms) });
  const sandboxUrl = await sandbox.start();

  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const appUrl = `http://${opts.crossSite ? 'localhost' : '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const container = await createTestContainer({
    tdb: opts.tdb,
    env: { PUBLIC_URL: appUrl, ALLOW_INSECURE_CANVAS_URLS: 'true' },
    overrides: { lti: true },
  });
  const app = createApp(container);
  server.on('request', app);

  const base = { accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };
  const a = await container.integrations.create({
    ...base,
    name: 'Institution A',
    canvasUrl: sandboxUrl,
    clientId: '10000000000001',
    lti: {
      environment: 'custom',
      clientId: LTI_CLIENT_ID,
      deploymentIds: [DEPLOYMENT_ID],
      issuer: sandboxUrl,
      ...(opts.crossSite ? { authUrl: `${sandboxUrl.replace('127.0.0.1', 'localhost')}/api/lti/authorize_redirect` } : {}),
    },
  });
  const b = await container.integrations.create({
    ...base,
    name: 'Institution B',
    canvasUrl: 'https://b.instructure.com',
    clientId: '20000000000001',
    lti: { environment: 'production', clientId: '20000000000099', deploymentIds: ['9:b'] },
  });
  const lw: LtiWorld = {
    issuer: sandboxUrl,
    // Canvas's storage frame lives on the OIDC auth origin, another site than the Canvas page.
    ...(opts.crossSite ? { authOrigin: new URL(sandboxUrl.replace('127.0.0.1', 'localhost')).origin } : {}),
    tools: [{ clientId: LTI_CLIENT_ID, deploymentIds: [DEPLOYMENT_ID], configUrl: `${appUrl}/lti/config.json?integration=${a.id}` }],
  };
  sandbox.world.lti = lw;
  // Key pairs (4096-bit, ltijs's choice) are generated here, not inside the first test's time budget.
  await container.lti?.syncIntegration?.(a.id);

  return {
    container,
    app,
    appUrl,
    sandbox,
    platform,
    integrationA: a.id,
    integrationB: b.id,
    sandboxAhead,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await container.close();
      await sandbox.stop();
    },
  };
}

export interface Page {
  url: string;
  status: number;
  body: string;
  headers: Headers;
}

/** The config a platform-storage page (views/lti/storage.eta) gives public/lti-storage.js. */
interface StoragePageConfig {
  mode: 'login' | 'launch';
  state: string;
  nonce: string;
  next?: string;
  fallback?: string;
}

function storagePage(body: string): { config: StoragePageConfig; action?: string; fields: Record<string, string> } | undefined {
  const raw = /id="lti-storage" data-config="([^"]*)"/.exec(body)?.[1];
  if (raw === undefined) return undefined;
  const config = JSON.parse(unescape(raw)) as StoragePageConfig;
  const action = /<form id="lti-storage-form" method="post" action="([^"]+)"/.exec(body)?.[1];
  const fields: Record<string, string> = {};
  for (const m of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = unescape(m[2]!); // both groups are mandatory
  return { config, action: action === undefined ? undefined : unescape(action), fields };
}

/**
 * A tiny cookie-keeping browser over fetch: follows redirects across the sandbox and the app,
 * like a browser on one host (cookies are not port-scoped). `blockCookies` drops every cookie,
 * like a browser that blocks third-party cookies inside Canvas's iframe.
 *
 * Pages that use LTI platform storage are played as public/lti-storage.js plays them: with
 * `platformStorage`, `storage` stands for Canvas's storage frame (login: put state and nonce, go
 * on; launch: read them back, delete them, post again); without, Canvas "does not answer" (login:
 * the cookie-path fallback; launch: post with `cc_storage_error`).
 */
export function miniBrowser(opts: { blockCookies?: boolean; blockCookiesNamed?: RegExp; platformStorage?: boolean } = {}) {
  const jar = new Map<string, string>();
  const storage = new Map<string, string>();
  const remember = (res: Response) => {
    if (opts.blockCookies) return;
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      if (opts.blockCookiesNamed?.test(name)) continue;
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1] ?? '').getTime() < Date.now()) || attrs.some((a) => /^\s*max-age=0/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookieHeader = () => [...jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ');

  async function request(method: string, url: string, form?: Record<string, string>, stopAt?: (next: URL) => boolean): Promise<Page> {
    let cur = url;
    let m = method;
    let body: string | undefined = form ? new URLSearchParams(form).toString() : undefined;
    /** Set while following a chain a page of `initiator` started (the storage page's post): sent as a browser would. */
    let initiator: string | undefined;
    for (let hop = 0; hop < 15; hop++) {
      const headers: Record<string, string> = { cookie: cookieHeader() };
      if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
      if (initiator !== undefined) {
        headers['sec-fetch-site'] = new URL(cur).origin === initiator ? 'same-origin' : 'cross-site';
        if (m === 'POST') headers.origin = initiator;
      }
      const res = await fetch(cur, { method: m, redirect: 'manual', headers, body });
      remember(res);
      const loc = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && loc) {
        const next = new URL(loc, cur);
        if (stopAt?.(next)) {
          await res.arrayBuffer();
          return { url: next.toString(), status: res.status, body: '', headers: res.headers };
        }
        cur = next.toString();
        m = 'GET';
        body = undefined;
        await res.arrayBuffer();
        continue;
      }
      const text = await res.text();
      const sp = storagePage(text);
      if (sp?.config.mode === 'login') {
        const { config } = sp;
        if (opts.platformStorage) {
          storage.set(`state-${config.state}`, config.state);
          storage.set(`nonce-${config.nonce}`, config.nonce);
        }
        const next = new URL((opts.platformStorage ? config.next : config.fallback) ?? '', cur);
        if (stopAt?.(next)) return { url: next.toString(), status: res.status, body: text, headers: res.headers };
        cur = next.toString();
        m = 'GET';
        body = undefined;
        continue;
      }
      if (sp?.config.mode === 'launch' && sp.action) {
        const { config } = sp;
        const fields = { ...sp.fields };
        if (opts.platformStorage) {
          fields.cc_storage_state = storage.get(`state-${config.state}`) ?? '';
          fields.cc_storage_nonce = storage.get(`nonce-${config.nonce}`) ?? '';
          storage.delete(`state-${config.state}`);
          storage.delete(`nonce-${config.nonce}`);
        } else {
          fields.cc_storage_error = 'no_storage';
        }
        initiator = new URL(cur).origin;
        cur = new URL(sp.action, cur).toString();
        m = 'POST';
        body = new URLSearchParams(fields).toString();
        continue;
      }
      return { url: cur, status: res.status, body: text, headers: res.headers };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  return {
    jar,
    /** Canvas's platform storage as this browser sees it (`state-…` / `nonce-…` keys). */
    storage,
    get: (url: string, stopAt?: (next: URL) => boolean) => request('GET', url, undefined, stopAt),
    post: (url: string, form: Record<string, string>) => request('POST', url, form),
    /** The hidden fields of the platform's auto-posting form. */
    formFields(page: Page): { action: string; fields: Record<string, string> } {
      const action = /<form id="lti-form" method="post" action="([^"]+)"/.exec(page.body)?.[1];
      if (!action) throw new Error(`no LTI form in page (${page.status}): ${page.body.slice(0, 300)}`);
      const fields: Record<string, string> = {};
      for (const m of page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = unescape(m[2]!); // both groups are mandatory in the pattern
      return { action: unescape(action), fields };
    },
    /** Submits the platform's auto-posting form (what its script does in a real browser). */
    async submitForm(page: Page): Promise<Page> {
      const { action, fields } = this.formFields(page);
      return request('POST', action, fields);
    },
  };
}

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** `data-lti-code` of a rendered LTI page, or undefined. */
export function ltiCode(page: Page): string | undefined {
  return /data-lti-code="([^"]+)"/.exec(page.body)?.[1];
}

/** Runs a launch the way Canvas would, up to the id_token form (not submitted). */
export async function launchUntilForm(b: ReturnType<typeof miniBrowser>, h: LtiHarness, q: Record<string, string>): Promise<Page> {
  return b.get(`${h.sandbox.url}/__lti/launch?${new URLSearchParams(q).toString()}`);
}

/**
 * Puts course 100 and its REST roster into the tables the sync would fill: Sam is an exam-taker,
 * the teacher is skipped by role, and "Hana Hidden" is missing (permission-hidden from the API),
 * which the NRPS cross-check reports.
 */
export async function seedCourseRoster(h: LtiHarness): Promise<void> {
  const db = h.container.store.db;
  const now = new Date().toISOString();
  await db
    .insertInto('courses')
    .values({
      integration_id: h.integrationA, canvas_id: COURSE_ID, name: 'Chemistry 101', course_code: 'CHEM101', sis_course_id: 'CHEM-101',
      canvas_integration_id: null, external_id: 'CHEM-101', workflow_state: 'available', published: 1, syncable: 1, reasons: '[]',
      account_id: '1', refreshed_at: now, refresh_job_id: null, last_synced_at: now,
    })
    .execute();
  await db.insertInto('sections').values({
    integration_id: h.integrationA, canvas_id: '200', course_canvas_id: COURSE_ID, name: 'Section A', sis_section_id: null,
    canvas_integration_id: null, external_id: null, syncable: 1, reasons: '[]', refreshed_at: now,
  }).execute();
  const entry = (userId: string, name: string, examTaker: boolean, reasons: string[], roles = ['StudentEnrollment']) => ({
    integration_id: h.integrationA, course_canvas_id: COURSE_ID, canvas_user_id: userId, name, roles: JSON.stringify(roles),
    enrollment_states: '["active"]', external_id: examTaker ? `sis-${userId}` : null, section_ids: '["200"]',
    exam_taker: examTaker ? 1 : 0, reasons: JSON.stringify(reasons), synced_at: now, job_id: null,
  });
  await db
    .insertInto('roster_entries')
    .values([entry(USERS.student, 'Sam Student', true, []), entry(USERS.teacher, 'Tess Teacher', false, ['role_not_selected'], ['TeacherEnrollment'])])
    .execute();
}

