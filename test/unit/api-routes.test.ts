import { presentChange } from '../../src/http/presenters/changes.js';
import { describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { z } from 'zod';
import { presentIntegration, presentStatus } from '../../src/http/presenters/integration.js';
import { apiReference } from '../../src/http/openapi/api-reference.js';
import { apiRoutes, errorStatuses, pathParams } from '../../src/http/openapi/api-routes.js';
import { buildOpenApiDocument, openApiPath } from '../../src/http/openapi/openapi-document.js';
import * as R from '../../src/http/openapi/response-schemas.js';
import { presentCourse, presentLookup, presentRoster } from '../../src/http/presenters/course.js';
import { presentJob } from '../../src/http/presenters/job.js';
import { emptyBody, listQuery, lookupBody, refreshBody, selectionBody } from '../../src/http/routes/courses.js';
import { diagnoseSchema, emptySchema } from '../../src/http/routes/integrations-api.js';
import { createIntegrationSchemas } from '../../src/integrations/integration.js';
import type { diagnoseAuthorizeUrl } from '../../src/integrations/diagnose-url.js';
import type { PreflightResult } from '../../src/integrations/preflight.js';
import type { WhyAnswer } from '../../src/sync/diagnostics.js';
import type { RosterResult } from '../../src/sync/roster-sync.js';

/**
 * Compile-time: each presenter's output fits the schema the document publishes for it (tsc fails
 * when a presenter returns a field or type the schema does not describe).
 */
type Fits<T, S extends z.ZodType> = [T] extends [z.output<S>] ? true : false;
const presentersFitTheirSchemas: [
  Fits<ReturnType<typeof presentIntegration>, typeof R.Integration>,
  Fits<ReturnType<typeof presentStatus>, typeof R.ConnectionStatus>,
  Fits<ReturnType<typeof presentJob>, typeof R.Job>,
  Fits<ReturnType<typeof presentCourse>, typeof R.Course>,
  Fits<ReturnType<typeof presentLookup>, typeof R.CourseLookup>,
  Fits<ReturnType<typeof presentRoster>, typeof R.Roster>,
  Fits<ReturnType<typeof diagnoseAuthorizeUrl>, typeof R.DiagnosedUrl>,
  Fits<PreflightResult & { help: Record<string, string> }, typeof R.PreflightResult>,
  Fits<WhyAnswer, typeof R.WhyAnswer>,
  Fits<Pick<RosterResult, 'diff' | 'counts' | 'includesStripped'>, typeof R.SyncPreview>,
  Fits<ReturnType<typeof presentChange>, typeof R.Change>,
] = [true, true, true, true, true, true, true, true, true, true, true];

const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });
const routes = apiRoutes(schemas);
const doc = buildOpenApiDocument(routes, { serverUrl: 'https://exams.example.edu', version: '0.1.0' });

describe('the API route table', () => {
  it('names each operation once', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(presentersFitTheirSchemas.every(Boolean)).toBe(true);
  });

  it('reuses the exact schemas the handlers validate with', () => {
    const body = (m: string, p: string) => routes.find((r) => r.method === m && r.path === p)?.body;
    expect(body('post', '/api/v1/integrations')).toBe(schemas.create);
    expect(body('patch', '/api/v1/integrations/:id')).toBe(schemas.patch);
    expect(body('post', '/api/v1/diagnostics/authorize-url')).toBe(diagnoseSchema);
    expect(body('post', '/api/v1/integrations/:id/preflight')).toBe(emptySchema);
    expect(body('post', '/api/v1/integrations/:id/course-refresh')).toBe(refreshBody);
    expect(body('post', '/api/v1/integrations/:id/course-sync')).toBe(selectionBody);
    expect(body('post', '/api/v1/integrations/:id/courses/lookup')).toBe(lookupBody);
    expect(body('post', '/api/v1/integrations/:id/courses/:canvasId/sync')).toBe(emptyBody);
    expect(routes.find((r) => r.path === '/api/v1/integrations/:id/courses')?.query).toBe(listQuery);
  });

  it('describes every path parameter and gives each operation a summary', () => {
    for (const r of routes) {
      expect([r.path, r.summary.length > 0]).toEqual([r.path, true]);
      for (const p of pathParams(r.path)) expect([r.path, p, typeof r.params?.[p]]).toEqual([r.path, p, 'string']);
    }
  });

  it('lists 401 for token operations, 404 for operations on an id, 400 where input is parsed', () => {
    const at = (m: string, p: string) => errorStatuses(routes.find((r) => r.method === m && r.path === p)!);
    expect(at('get', '/api/v1/whoami')).toEqual([401]);
    expect(at('get', '/api/v1/openapi.json')).toEqual([401]);
    expect(at('post', '/api/v1/integrations')).toEqual([400, 401, 403]);
    expect(at('get', '/api/v1/integrations/:id/courses')).toEqual([400, 401, 404]);
    expect(at('post', '/api/v1/integrations/:id/courses/lookup')).toEqual([400, 401, 403, 404, 502]);
  });
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has every operation of the table, each with a success answer and the error shape', () => {
    let count = 0;
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.path)]?.[r.method];
      expect(op).toBeDefined();
      count += 1;
      expect(op!.responses[String(r.success.status)]).toBeDefined();
      for (const s of errorStatuses(r)) {
        expect(op!.responses[String(s)]!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      }
    }
    expect(Object.values(doc.paths).flatMap((ops) => Object.keys(ops))).toHaveLength(count);
  });

  it('resolves every $ref to a component', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(routes.length);
    expect(refs.filter((name) => !(name in doc.components.schemas))).toEqual([]);
  });

  it('describes a request body as what a client sends: defaults optional, unknown fields refused', () => {
    const create = doc.paths['/api/v1/integrations']!.post!.requestBody!;
    expect(create.required).toBe(true);
    const schema = create.content['application/json']!.schema as { required: string[]; additionalProperties: boolean; properties: Record<string, { default?: unknown }> };
    expect(schema.required.sort()).toEqual(['canvasUrl', 'clientId', 'name']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.accountId!.default).toBe('self');
    expect(doc.paths['/api/v1/integrations/{id}/preflight']!.post!.requestBody!.required).toBe(false);
  });

  it('requires the bearer token on every operation, the document itself included', () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(doc.paths['/api/v1/openapi.json']!.get!.responses['401']).toBeDefined();
  });
});

describe('the reference page view-model', () => {
  const ref = apiReference(doc);
  const op = (method: string, path: string) => ref.groups.flatMap((g) => g.operations).find((o) => o.method === method && o.path === path)!;

  it('lists body fields with types, requiredness and constraints, nested fields under their parent', () => {
    const fields = op('POST', '/api/v1/integrations').body!.fields;
    expect(fields.find((f) => f.name === 'courseIdType')).toEqual({ name: 'courseIdType', type: '"sis_course_id" | "integration_id" | "canvas_id"', required: false, notes: ['default "sis_course_id"'] });
    expect(fields.find((f) => f.name === 'name')).toMatchObject({ type: 'string', required: true, notes: ['not empty', 'at most 200 characters'] });
    expect(fields.find((f) => f.name === 'lti.environment')).toMatchObject({ required: true });
  });

  it('lists query parameters, the answer and the errors of an operation', () => {
    const list = op('GET', '/api/v1/integrations/{id}/courses');
    expect(list.query.map((q) => q.name)).toEqual(['syncable', 'reason', 'cursor', 'limit', 'q']);
    expect(list.success).toEqual({ status: '200', description: 'One page of courses', schema: 'CoursePage' });
    expect(list.errors.map((e) => e.status)).toEqual(['400', '401', '404']);
  });

  it('describes every answer schema and the error shape', () => {
    expect(ref.schemas.map((s) => s.name)).toEqual(expect.arrayContaining(['Integration', 'Job', 'Course', 'Roster']));
    expect(ref.errorSchema.map((f) => f.name)).toEqual(['error', 'error.code', 'error.message', 'error.help']);
    expect(ref.schemas.find((s) => s.name === 'CoursePage')!.fields.find((f) => f.name === 'courses')!.type).toBe('Course[]');
  });
});
