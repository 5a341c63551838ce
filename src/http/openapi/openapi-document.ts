import { z } from 'zod';
import { errorStatuses, pathParams, type ApiRoute, type ErrorStatus } from './api-routes.js';
import * as R from './response-schemas.js';

/** A JSON Schema as zod emits it (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, JsonSchema> };
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Array<{ name: string; in: 'path' | 'query'; required: boolean; description?: string; schema: JsonSchema }>;
  requestBody?: { required: boolean; description?: string; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
}

/** What each error status means in this API (the code in `error.code`). */
export const ERROR_MEANINGS: Record<ErrorStatus, string> = {
  400: 'validation_failed: a bad or unknown field, named in the message',
  401: 'unauthenticated: no API token, or an invalid or revoked one',
  403: 'forbidden, or csrf_failed for a signed-in browser session without its CSRF token',
  404: 'not_found: no such integration, course or job',
  409: 'conflict: the request clashes with the current state',
  502: 'canvas_error: Canvas answered with an error; help says what to do',
};

const SCHEMA_REF = '#/components/schemas/';

/** `/api/v1/integrations/:id/scopes` → `/api/v1/integrations/{id}/scopes`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** `get` + `/api/v1/integrations/:id/scopes` → `getIntegrationsByIdScopes`. */
export function operationId(route: Pick<ApiRoute, 'method' | 'path'>): string {
  const words = route.path
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .map((seg) => (seg.startsWith(':') ? `by-${seg.slice(1)}` : seg))
    .join('-')
    .split(/[-_.]/)
    .filter(Boolean);
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** zod → JSON Schema for one request schema (what a client sends: defaults optional, transforms' inputs). */
function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Every response schema as a named component; nested named schemas become `$ref`s. */
function responseComponents(): { schemas: Record<string, JsonSchema>; names: Map<z.ZodType, string> } {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(R)) {
    if (!(schema instanceof z.ZodType)) continue;
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  const out = z.toJSONSchema(registry, { io: 'output', unrepresentable: 'any', uri: (id) => `${SCHEMA_REF}${id}` }) as { schemas: Record<string, JsonSchema> };
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, s] of Object.entries(out.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = s;
    schemas[name] = rest;
  }
  return { schemas, names };
}

function queryParameters(query: z.ZodObject): NonNullable<OpenApiOperation['parameters']> {
  const json = inputSchema(query) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema as JsonSchema & { description?: string };
    return { name, in: 'query' as const, required: (json.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest };
  });
}

/**
 * Builds the OpenAPI 3.1 document of the JSON API from the route table. Request schemas are
 * emitted as what a client may send (zod's input side), answers as what the presenters return.
 * @throws Error when a row's answer schema is not one of the named response schemas (a new
 *   answer shape must be added to response-schemas.ts).
 */
export function buildOpenApiDocument(routes: ApiRoute[], opts: { serverUrl: string; version: string }): OpenApiDocument {
  const { schemas, names } = responseComponents();
  const ref = (schema: z.ZodType): JsonSchema => {
    const name = names.get(schema);
    if (!name) throw new Error('An API answer schema must be exported from src/http/openapi/response-schemas.ts');
    return { $ref: `${SCHEMA_REF}${name}` };
  };
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const params = pathParams(route.path).map((name) => ({
      name,
      in: 'path' as const,
      required: true,
      ...(route.params?.[name] ? { description: route.params[name] } : {}),
      schema: { type: 'string' },
    }));
    const parameters = [...params, ...(route.query ? queryParameters(route.query) : [])];
    const responses: OpenApiOperation['responses'] = {
      [String(route.success.status)]: {
        description: route.success.description,
        ...(route.success.schema ? { content: { 'application/json': { schema: ref(route.success.schema) } } } : {}),
        ...(route.success.mediaTypes ? { content: Object.fromEntries(route.success.mediaTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) } : {}),
      },
    };
    for (const other of route.otherAnswers ?? []) {
      responses[String(other.status)] = { description: other.description, content: { 'application/json': { schema: ref(other.schema) } } };
    }
    for (const status of errorStatuses(route)) {
      responses[String(status)] = { description: ERROR_MEANINGS[status], content: { 'application/json': { schema: ref(R.ErrorResponse) } } };
    }
    let requestBody: OpenApiOperation['requestBody'];
    if (route.body) {
      const schema = inputSchema(route.body);
      const required = Array.isArray(schema.required) && schema.required.length > 0;
      requestBody = { required, content: { 'application/json': { schema } } };
    }
    if (route.fileBody) {
      requestBody = {
        required: true,
        description: route.fileBody.description,
        content: Object.fromEntries(route.fileBody.mediaTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
      };
    }
    const op: OpenApiOperation = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
    (paths[openApiPath(route.path)] ??= {})[route.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'canvas-companion JSON API',
      version: opts.version,
      description:
        'Staff automation for Canvas integrations. Send `Authorization: Bearer <staff API token>`. ' +
        'Errors are `{ "error": { "code", "message", "help"? } }`; unknown body fields are rejected with 400 naming the field. ' +
        'Canvas ids are strings.',
    },
    servers: [{ url: opts.serverUrl }],
    security: [{ bearerAuth: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A staff API token (Settings → API tokens, or `npm run cli -- tokens create`).' } },
      schemas,
    },
  };
}
