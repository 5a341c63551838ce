import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { z } from 'zod';
import { createApp } from '../../../src/app.js';
import { apiRoutes } from '../../../src/http/openapi/api-routes.js';
import * as R from '../../../src/http/openapi/response-schemas.js';
import { createTestContainer } from '../../support/test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
const TOKEN = 'openapi-test-token-0123456789abcdef';
const PASSWORD = 'a long staff passphrase';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
  slash?: boolean;
}

/** Every `METHOD /path` the Express app routes (Express 5: `app.router.stack`, nested routers followed). */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m} ${prefix}${p}`);
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mount = layer.slash || typeof layer.rawPath !== 'string' || layer.rawPath === '/' ? '' : layer.rawPath;
      out.push(...servedRoutes(layer.handle.stack, prefix + mount));
    }
  }
  return out;
}

/** `schema` describes `body` exactly: parsing keeps every field (zod drops fields it does not know). */
function expectExactly(schema: z.ZodType, body: unknown): void {
  expect(schema.parse(body)).toEqual(body);
}

describe('the JSON API description', () => {
  let c: TestContainer;
  let app: ReturnType<typeof createApp>;
  const api = () => ({
    get: (p: string) => request(app).get(p).set('Authorization', `Bearer ${TOKEN}`),
    post: (p: string, body: object = {}) => request(app).post(p).set('Authorization', `Bearer ${TOKEN}`).send(body),
    patch: (p: string, body: object) => request(app).patch(p).set('Authorization', `Bearer ${TOKEN}`).send(body),
  });

  beforeAll(async () => {
    c = await createTestContainer({ env: { BOOTSTRAP_API_TOKEN: TOKEN, ALLOW_INSECURE_CANVAS_URLS: 'true' } });
    await c.staff.create({ email: 'docs@example.edu', name: 'Dee Docs', password: PASSWORD });
    app = createApp(c);
  });
  afterAll(async () => {
    await c.close();
  });

  it('the route table names exactly the /api/v1 routes the app serves', () => {
    const served = servedRoutes((app as unknown as { router: { stack: Layer[] } }).router.stack).filter((r) => r.split(' ')[1]!.startsWith('/api/v1'));
    expect(served.length).toBeGreaterThan(20);
    const table = apiRoutes(c.integrationSchemas).map((r) => `${r.method} ${r.path}`);
    expect(served.filter((r) => !table.includes(r)).sort()).toEqual([]);
    expect(table.filter((r) => !served.includes(r)).sort()).toEqual([]);
  });

  it('serves the OpenAPI 3.1 document with the API token, and 401 without one', async () => {
    const anon = await request(app).get('/api/v1/openapi.json');
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthenticated');
    const res = await api().get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ openapi: '3.1.0', servers: [{ url: c.config.publicUrl }] });
    expect(Object.keys(res.body.paths)).toContain('/api/v1/integrations/{id}/courses/{canvasId}/roster');
  });

  it('sends anonymous visitors of the reference page to sign in', async () => {
    const res = await request(app).get('/docs/api');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Fdocs%2Fapi');
  });

  it('renders the reference page for staff in the site layout, listing every operation with its fields and errors', async () => {
    const agent = request.agent(app);
    const login = await agent.get('/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
    expect((await agent.post('/login').type('form').send({ _csrf: csrf, email: 'docs@example.edu', password: PASSWORD })).status).toBe(303);
    const res = await agent.get('/docs/api');
    expect(res.status).toBe(200);
    expect(res.text).toContain('class="site-header"');
    expect(res.text).toContain('<a href="/docs/api" aria-current="page">API reference</a>');
    expect((await agent.get('/api/v1/openapi.json')).status).toBe(200);
    for (const r of apiRoutes(c.integrationSchemas)) {
      expect(res.text).toContain(`<span class="api-method">${r.method.toUpperCase()}</span> ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    }
    expect(res.text).toContain('<code>studentRoles</code>');
    expect(res.text).toContain('<code>error.help</code>');
    expect(res.text).toContain('href="/api/v1/openapi.json"');
  });

  it('answers in the shapes the document publishes', async () => {
    const a = api();
    const created = await a.post('/api/v1/integrations', { name: 'Shape U', canvasUrl: 'http://127.0.0.1:9', clientId: '10000000000001', clientSecret: 'shh' });
    expect(created.status).toBe(201);
    expectExactly(R.Integration, created.body);
    const id = created.body.id as string;
    expectExactly(R.Integration, (await a.get(`/api/v1/integrations/${id}`)).body);
    expectExactly(R.Integration, (await a.patch(`/api/v1/integrations/${id}`, { name: 'Shape University' })).body);
    expectExactly(R.IntegrationList, (await a.get('/api/v1/integrations')).body);
    expectExactly(R.ConnectionStatus, (await a.post(`/api/v1/integrations/${id}/verify`)).body);
    expectExactly(R.ScopeList, (await a.get(`/api/v1/integrations/${id}/scopes?features=roster_sync`)).body);
    expectExactly(R.SignedLink, (await a.post(`/api/v1/integrations/${id}/authorization-links`)).body);
    expectExactly(R.SignedLink, (await a.post(`/api/v1/integrations/${id}/setup-links`)).body);
    expectExactly(R.DiagnosedUrl, (await a.post('/api/v1/diagnostics/authorize-url', { url: 'https://x/cb?error=invalid_scope&error_description=not+granted%3A+url%3AGET%7C%2Fapi%2Fv1%2Fusers%2F%3Aid' })).body);
    const refused = await a.post(`/api/v1/integrations/${id}/course-refresh`);
    expect(refused.status).toBe(409);
    expectExactly(R.ErrorResponse, refused.body);
    // Work that needs Canvas is refused without a token; one stored lets the job be queued.
    await c.integrations.saveToken(id, { accessToken: 'a', refreshToken: null, expiresAt: null, ownerCanvasId: '1', ownerName: 'A', scopes: [] });
    const job = await a.post(`/api/v1/integrations/${id}/course-refresh`);
    expect(job.status).toBe(202);
    expectExactly(R.Job, job.body);
    expectExactly(R.Job, (await a.get(`/api/v1/jobs/${job.body.id}`)).body);
    expectExactly(R.Job, (await a.post(`/api/v1/jobs/${job.body.id}/cancel`)).body);
    expectExactly(R.CoursePage, (await a.get(`/api/v1/integrations/${id}/courses`)).body);
    expectExactly(R.Roster, (await a.get(`/api/v1/integrations/${id}/courses/1001/roster`)).body);
    expectExactly(R.WhyAnswer, (await a.get(`/api/v1/integrations/${id}/courses/1001/why`)).body);
    expectExactly(R.WhyAnswer, (await a.get(`/api/v1/integrations/${id}/courses/1001/roster/7/why`)).body);
    expectExactly(R.WhoAmI, (await a.get('/api/v1/whoami')).body);
    const bad = await a.post('/api/v1/integrations', { name: 'x', canvasUrl: 'http://127.0.0.1:9', clientId: '1', color: 'red' });
    expect(bad.status).toBe(400);
    expectExactly(R.ErrorResponse, bad.body);
  });
});
