/**
 * Fuzzing the integration routes with random bodies: POST/PATCH /api/v1/integrations (JSON and
 * urlencoded), the LMS Settings form and the new-integration form. No body gives a 5xx, and every
 * 400 names the field it is about (or the body, when the body itself is unreadable).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { COURSE_ID_TYPES, LTI_ENVIRONMENTS, USER_ID_TYPES } from '../../src/integrations/integration.js';
import { createTestContainer } from '../support/test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const API_TOKEN = 'fuzz-routes-token-0123456789abcdef0123';
const PASSWORD = 'violet harbour lantern fuzzing';
const FIELDS = ['name', 'canvasUrl', 'clientId', 'clientSecret', 'accountId', 'courseIdType', 'userIdType', 'studentRoles', 'lti'];

// ---- generators ----------------------------------------------------------------------------------

const junk = fc.jsonValue({ maxDepth: 2 });
const url = fc.oneof(
  fc.webUrl({ withQueryParameters: true }),
  fc.constantFrom('https://school.instructure.com', 'http://school.instructure.com', 'https://[::ffff:127.0.0.1]', 'https://2130706433', 'javascript:alert(1)', 'file:///etc/passwd', 'https://localhost.', 'school.instructure.com', ''),
  fc.string({ maxLength: 30 }),
);
const lti = fc.record(
  {
    environment: fc.oneof(fc.constantFrom(...LTI_ENVIRONMENTS), junk),
    clientId: fc.oneof(fc.stringMatching(/^\d{1,19}$/), junk),
    deploymentIds: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), junk),
    issuer: fc.oneof(url, junk),
    authUrl: fc.oneof(url, junk),
    jwksUrl: fc.oneof(url, junk),
  },
  { requiredKeys: [] },
);
const fieldValues = {
  name: fc.oneof(fc.string({ maxLength: 40 }), junk),
  canvasUrl: fc.oneof(url, junk),
  clientId: fc.oneof(fc.stringMatching(/^\d{1,19}$/), fc.string({ maxLength: 25 }), junk),
  clientSecret: fc.oneof(fc.string({ maxLength: 40 }), junk),
  accountId: fc.oneof(fc.constantFrom('self', '1', 'sis_account_id:ROOT'), fc.string({ maxLength: 20 }), junk),
  courseIdType: fc.oneof(fc.constantFrom(...COURSE_ID_TYPES), junk),
  userIdType: fc.oneof(fc.constantFrom(...USER_ID_TYPES), junk),
  studentRoles: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), junk),
  lti: fc.oneof(fc.constant(null), lti, junk),
};
const objectBody = fc
  .tuple(fc.record(fieldValues, { requiredKeys: [] }), fc.option(fc.dictionary(fc.string({ maxLength: 12 }), junk, { maxKeys: 2 }), { freq: 4 }))
  .map(([known, extra]) => ({ ...(extra ?? {}), ...known }) as Record<string, unknown>);
const jsonBody = fc.oneof({ weight: 5, arbitrary: objectBody }, { weight: 1, arbitrary: junk });
const errorCode = fc.constantFrom('access_denied', 'invalid_scope', 'unauthorized_client', 'client_not_allowed_for_user', 'invalid_request', 'invalid_client', 'toString', '__proto__', 'constructor');
const errorUrl = fc
  .tuple(errorCode, fc.string({ maxLength: 40 }), fc.constantFrom('?', '#'))
  .map(([e, d, sep]) => `https://school.instructure.com/login/oauth2/auth${sep}${new URLSearchParams({ error: e, error_description: d })}`);
const formBody = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), fc.oneof(fc.string({ maxLength: 30 }), url.filter((u) => typeof u === 'string')), { maxKeys: 6 });

// ---- assertions ----------------------------------------------------------------------------------

/** A JSON API error answer: < 500, and a 400 says which field (or that the body itself is bad). */
function expectNamedField(res: { status: number; body: { error?: { code?: string; message?: string } } }, sent: unknown) {
  expect(res.status).toBeLessThan(500);
  if (res.status !== 400) return;
  expect(res.body.error?.code).toBe('validation_failed');
  const message = res.body.error?.message ?? '';
  const named = /^([A-Za-z_$][\w$]*(\.[\w$]+)*|"(?:[^"\\]|\\.)*"|\(body\)): /.exec(message);
  if (sent !== null && typeof sent === 'object' && !Array.isArray(sent)) {
    expect(named).not.toBeNull();
    expect(named![1]).not.toBe('(body)');
  } else {
    expect(named !== null || /request body/.test(message)).toBe(true);
  }
}

const LABELS = ['Institution name', 'Canvas URL', 'Client ID', 'Client secret'];
/** Text of an HTML fragment as the reader sees it (entities decoded, in any of the forms a page may use). */
const htmlText = (s: string) =>
  s
    .replace(/&(quot|#34|#x22);/g, '"')
    .replace(/&(#39|#x27|apos);/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** An HTML form answer: < 500, and a 400 page's alert names a field (a label, or a field sent). */
/**
 * A page form answers 303 both ways (Post/Redirect/Get): to the new page when it was taken, back to
 * the form's page when it was refused, where the error is shown once and names a field.
 * @returns whether the form was refused
 */
async function expectFormNamesField(agent: ReturnType<typeof request.agent>, res: { status: number; text: string; headers: Record<string, string> }, sent: Record<string, string>): Promise<boolean> {
  expect(res.status).toBe(303);
  const location = String(res.headers.location);
  expect(location.startsWith('/')).toBe(true);
  const page = await agent.get(location);
  expect(page.status).toBe(200);
  const found = /role="alert"[^>]*>([\s\S]*?)<\/div>/.exec(page.text);
  if (!found) return false;
  const alert = htmlText(found[1] ?? '');
  // A field is named as sent, or quoted as a JSON string when it is not a plain name.
  const names = [...LABELS, ...FIELDS, ...Object.keys(sent).flatMap((k) => (k.length > 0 ? [k, JSON.stringify(k)] : []))];
  expect(names.some((n) => alert.includes(n))).toBe(true);
  // Shown once: a reload of the page no longer carries it.
  expect((await agent.get(location)).text).not.toContain(found[0]);
  return true;
}

// ---- suites ----------------------------------------------------------------------------------------

describe('integration routes under random bodies (insecure Canvas URLs off)', () => {
  let c: TestContainer;
  let server: Server;
  let id: string;
  const RUNS = { numRuns: 80 };

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: API_TOKEN, HEALTH_CHECK_INTERVAL_MINUTES: '0' } });
    await c.staff.create({ email: 'staff@example.edu', name: 'Sam Staff', password: PASSWORD });
    server = createApp(c).listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const created = await request(server).post('/api/v1/integrations').set('Authorization', `Bearer ${API_TOKEN}`).send({ name: 'U', canvasUrl: 'https://u.instructure.com', clientId: '1', clientSecret: 's' });
    expect(created.status).toBe(201);
    id = created.body.id as string;
    void (server.address() as AddressInfo);
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await c.close();
  });

  const api = () => request(server);
  const auth = { Authorization: `Bearer ${API_TOKEN}` };

  it('POST /api/v1/integrations: JSON bodies never give a 5xx; every 400 names a field', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const res = await api().post('/api/v1/integrations').set(auth).set('Content-Type', 'application/json').send(JSON.stringify(body));
        seen.add(res.status);
        expectNamedField(res, body);
        if (res.status === 201) expect(res.body).not.toHaveProperty('clientSecret');
      }),
      { ...RUNS, examples: [[{ name: 'Valid', canvasUrl: 'https://v.instructure.com', clientId: '2' }]] },
    );
    expect([...seen].sort()).toEqual(expect.arrayContaining([201, 400]));
  });

  it('PATCH /api/v1/integrations/:id: JSON bodies never give a 5xx; every 400 names a field', async () => {
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const res = await api().patch(`/api/v1/integrations/${id}`).set(auth).set('Content-Type', 'application/json').send(JSON.stringify(body));
        expectNamedField(res, body);
      }),
      RUNS,
    );
  });

  it('POST /api/v1/integrations: urlencoded and unreadable bodies never give a 5xx', async () => {
    const raw = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(formBody.map((f) => ({ kind: 'form' as const, f })), raw.map((t) => ({ kind: 'json-text' as const, t }))), async (b) => {
        if (b.kind === 'form') {
          const res = await api().post('/api/v1/integrations').set(auth).type('form').send(new URLSearchParams(b.f).toString());
          expectNamedField(res, b.f);
        } else {
          const res = await api().post('/api/v1/integrations').set(auth).set('Content-Type', 'application/json').send(b.t);
          let parsed: unknown = b.t;
          try {
            parsed = JSON.parse(b.t);
          } catch {
            parsed = b.t;
          }
          expectNamedField(res, parsed);
        }
      }),
      RUNS,
    );
  });

  it('POST /api/v1/diagnostics/authorize-url: any body gives 200 with the documented shape or a 400 naming the field', async () => {
    const pasted = fc.oneof(fc.string({ maxLength: 80 }), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.json(), errorUrl);
    const body = fc.oneof({ weight: 4, arbitrary: pasted.map((url) => ({ url })) }, { weight: 1, arbitrary: jsonBody });
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await api().post('/api/v1/diagnostics/authorize-url').set(auth).set('Content-Type', 'application/json').send(JSON.stringify(b));
        expectNamedField(res, b);
        if (res.status === 200) {
          expect(Object.keys(res.body).sort()).toEqual(['description', 'error', 'missingScopes', 'reason']);
          expect(Array.isArray(res.body.missingScopes)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('GET /oauth/callback: any answer Canvas (or anyone) sends to a started authorization never gives a 5xx, nor does the integration afterwards', async () => {
    const created = await api().post('/api/v1/integrations').set(auth).send({ name: 'CB', canvasUrl: 'https://cb.instructure.com', clientId: '3', clientSecret: 's' });
    const cb = created.body.id as string;
    const agent = request.agent(server);
    const login = await agent.get('/login');
    await agent.post('/login').type('form').send({ _csrf: /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!, email: 'staff@example.edu', password: PASSWORD });
    const token = /name="_csrf" value="([^"]+)"/.exec((await agent.get(`/integrations/${cb}`)).text)![1]!;
    const query = fc.record(
      { error: fc.oneof(errorCode, fc.string({ maxLength: 15 })), error_description: fc.string({ maxLength: 40 }), code: fc.string({ minLength: 1, maxLength: 20 }), extra: fc.string({ maxLength: 10 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(query, fc.constantFrom('issued', 'random', 'none'), async (q, stateKind) => {
        const start = await agent.post(`/integrations/${cb}/generate-keys`).type('form').send({ _csrf: token });
        expect(start.status).toBe(303);
        const issued = new URL(start.headers.location as string).searchParams.get('state')!;
        const params = new URLSearchParams(q as Record<string, string>);
        if (stateKind === 'issued') params.set('state', issued);
        if (stateKind === 'random') params.set('state', `x${issued.slice(1)}`);
        const res = await agent.get(`/oauth/callback?${params.toString()}`);
        expect(res.status).toBe(303);
        expect((await agent.get('/oauth/result')).status).toBeLessThan(500);
        expect((await api().get(`/api/v1/integrations/${cb}`).set(auth)).status).toBe(200);
        expect((await agent.get(`/integrations/${cb}`)).status).toBe(200);
      }),
      { numRuns: 25, examples: [[{ error: 'toString' }, 'issued']] },
    );
  });

  it('the LMS Settings form and the new-integration form: random fields never give a 5xx; a refusal goes back to the form and names a field', async () => {
    const agent = request.agent(server);
    const login = await agent.get('/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
    expect((await agent.post('/login').type('form').send({ _csrf: csrf, email: 'staff@example.edu', password: PASSWORD })).status).toBe(303);
    const page = await agent.get(`/integrations/${id}`);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const seen = new Set<'taken' | 'refused'>();
    await fc.assert(
      fc.asyncProperty(formBody, fc.constantFrom(`/integrations/${id}/settings`, '/integrations'), async (fields, path) => {
        const res = await agent.post(path).type('form').send(new URLSearchParams({ ...fields, _csrf: token }).toString());
        seen.add((await expectFormNamesField(agent, res, fields)) ? 'refused' : 'taken');
      }),
      {
        numRuns: 80,
        examples: [
          [{ canvasUrl: 'https://u.instructure.com', clientId: '1' }, `/integrations/${id}/settings`],
          // A field named by a quote: the page escapes it as &quot; (found by a run of this property).
          [{ clientId: '', canvasUrl: '', '"': 'http://a.aa' }, `/integrations/${id}/settings`],
          [{ clientId: '', canvasUrl: 'http://a.aa', ' "': 'http://a.aa' }, `/integrations/${id}/settings`],
        ],
      },
    );
    expect([...seen]).toEqual(expect.arrayContaining(['taken', 'refused']));
  });
});
