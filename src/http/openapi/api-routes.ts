/**
 * The JSON API's route table: every `/api/v1` operation the app serves, with the zod schemas its
 * handler validates with (imported from the routes, never restated) and the schema of its answer.
 * The OpenAPI document and the reference page are generated from it, and
 * test/integration/http/openapi.test.ts fails when a route the app serves is missing here or a
 * row names a route the app does not serve.
 */
import { z } from 'zod';
import { FEATURES } from '../../canvas/endpoints.js';
import type { IntegrationSchemas } from '../../integrations/integration.js';
import { emptyBody, listQuery, lookupBody, refreshBody, selectionBody, syncAllBody } from '../routes/courses.js';
import { diagnoseSchema, emptySchema } from '../routes/integrations-api.js';
import * as R from './response-schemas.js';

export type ApiMethod = 'get' | 'post' | 'patch' | 'delete';

/** Error statuses an operation can answer with, each with the `{ error }` shape. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 502;

export interface ApiRoute {
  method: ApiMethod;
  /** Express path template, e.g. `/api/v1/integrations/:id`. */
  path: string;
  /** Groups operations on the reference page and in the document's tags. */
  tag: 'Integrations' | 'Connection' | 'Courses' | 'Roster' | 'Jobs' | 'Diagnostics' | 'Meta';
  summary: string;
  description?: string;
  /** What each `:param` of the path is. */
  params?: Record<string, string>;
  /** The query schema the handler parses (strings in, as Express gives them). */
  query?: z.ZodObject;
  /** The JSON body schema the handler parses. */
  body?: z.ZodType;
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType };
  /** Error statuses beyond those every operation has (401; 400 with a body or query; 404 with a path id). */
  errors?: ErrorStatus[];
}

const INTEGRATION_ID = { id: 'The integration id' };
const COURSE = { ...INTEGRATION_ID, canvasId: 'The Canvas course id' };

/**
 * `?features=` of the scopes operation. The handler parses it with `parseFeatures` (a list
 * separated by commas), so this schema only describes it.
 */
const scopesQuery = z.object({
  features: z
    .string()
    .optional()
    .describe(`Comma-separated features (${Object.keys(FEATURES).join(', ')}); all of them when absent`),
});

/**
 * The table. Integration create/patch schemas depend on configuration (the Canvas URL check), so
 * the table is built from the same schemas the app validates with.
 */
export function apiRoutes(integrationSchemas: Pick<IntegrationSchemas, 'create' | 'patch'>): ApiRoute[] {
  return [
    {
      method: 'get',
      path: '/api/v1/integrations',
      tag: 'Integrations',
      summary: 'List integrations',
      success: { status: 200, description: 'Every integration, with its connection status', schema: R.IntegrationList },
    },
    {
      method: 'post',
      path: '/api/v1/integrations',
      tag: 'Integrations',
      summary: 'Create an integration',
      description: 'Unknown fields are rejected with 400 naming the field. The client secret is write-only.',
      body: integrationSchemas.create,
      success: { status: 201, description: 'The integration as created', schema: R.Integration },
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id',
      tag: 'Integrations',
      summary: 'Get an integration with its status',
      params: INTEGRATION_ID,
      success: { status: 200, description: 'The integration', schema: R.Integration },
    },
    {
      method: 'patch',
      path: '/api/v1/integrations/:id',
      tag: 'Integrations',
      summary: 'Change an integration',
      description: 'Any writable field. Changing canvasUrl or clientId drops the stored token and client secret.',
      params: INTEGRATION_ID,
      body: integrationSchemas.patch,
      success: { status: 200, description: 'The integration after the change', schema: R.Integration },
    },
    {
      method: 'delete',
      path: '/api/v1/integrations/:id',
      tag: 'Integrations',
      summary: 'Delete an integration',
      description: 'Revokes its token at Canvas first (best effort).',
      params: INTEGRATION_ID,
      success: { status: 204, description: 'Deleted' },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/preflight',
      tag: 'Connection',
      summary: 'Check the developer key configuration at Canvas',
      description: 'Asks Canvas about the key without sending anyone there; stores nothing from Canvas.',
      params: INTEGRATION_ID,
      body: emptySchema,
      success: { status: 200, description: 'What Canvas said, with a remedy per reason', schema: R.PreflightResult },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/authorization-links',
      tag: 'Connection',
      summary: 'Create a Generate Keys link',
      description: "Opening the link in a browser redirects to Canvas's authorize page. Needs a saved client secret.",
      params: INTEGRATION_ID,
      body: emptySchema,
      success: { status: 201, description: 'The link and when it expires', schema: R.SignedLink },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/setup-links',
      tag: 'Connection',
      summary: 'Create a setup link for a Canvas admin',
      description: "Signs the admin in to this integration's settings only.",
      params: INTEGRATION_ID,
      body: emptySchema,
      success: { status: 201, description: 'The link and when it expires', schema: R.SignedLink },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/verify',
      tag: 'Connection',
      summary: 'Re-run the verification probes',
      params: INTEGRATION_ID,
      body: emptySchema,
      success: { status: 200, description: 'The connection status after the probes', schema: R.ConnectionStatus },
    },
    {
      method: 'delete',
      path: '/api/v1/integrations/:id/token',
      tag: 'Connection',
      summary: 'Disconnect: revoke the token at Canvas and delete it here',
      params: INTEGRATION_ID,
      success: { status: 204, description: 'Disconnected' },
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/scopes',
      tag: 'Connection',
      summary: 'The exact scope list for the developer key',
      description: 'Derived from the Canvas endpoints the service calls, for the features asked for.',
      params: INTEGRATION_ID,
      query: scopesQuery,
      success: { status: 200, description: 'Canvas scope strings', schema: R.ScopeList },
    },
    {
      method: 'post',
      path: '/api/v1/diagnostics/authorize-url',
      tag: 'Diagnostics',
      summary: 'Explain a URL pasted from a Canvas error page',
      body: diagnoseSchema,
      success: { status: 200, description: 'The error, its description and the missing scopes', schema: R.DiagnosedUrl },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/course-refresh',
      tag: 'Courses',
      summary: 'Start a course refresh',
      description: 'Answers the running refresh instead when one is already queued or running.',
      params: INTEGRATION_ID,
      body: refreshBody,
      success: { status: 202, description: 'The refresh job', schema: R.Job },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/course-sync',
      tag: 'Roster',
      summary: 'Start a roster sync of several courses',
      params: INTEGRATION_ID,
      body: selectionBody,
      success: { status: 202, description: 'The sync job', schema: R.Job },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/course-sync-all',
      tag: 'Roster',
      summary: 'Start one roster sync of every syncable course',
      description:
        'expected: the number of syncable courses the caller confirmed (syncable in the course counts). When the list changed since, nothing starts: 409 names the current number.',
      params: INTEGRATION_ID,
      body: syncAllBody,
      success: { status: 202, description: 'The sync job', schema: R.Job },
      errors: [409],
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/courses',
      tag: 'Courses',
      summary: 'List the courses of the last refresh',
      params: INTEGRATION_ID,
      query: listQuery,
      success: { status: 200, description: 'One page of courses', schema: R.CoursePage },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/courses/lookup',
      tag: 'Courses',
      summary: 'Refresh one course now (specific course refresh)',
      description: 'query: a Canvas course id, sis_course_id:…, sis_integration_id:…, or a pasted course URL.',
      params: INTEGRATION_ID,
      body: lookupBody,
      success: { status: 200, description: 'The course, refreshed, with why it is not syncable', schema: R.CourseLookup },
      errors: [502],
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/courses/:canvasId/sync',
      tag: 'Roster',
      summary: "Start a roster sync of one course",
      params: COURSE,
      body: emptyBody,
      success: { status: 202, description: 'The sync job', schema: R.Job },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/courses/:canvasId/sync-preview',
      tag: 'Roster',
      summary: 'Preview what a roster sync would change',
      description: 'Reads the roster from Canvas now and stores nothing.',
      params: COURSE,
      body: emptyBody,
      success: { status: 200, description: 'The changes a sync would make', schema: R.SyncPreview },
      errors: [502],
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/courses/:canvasId/roster',
      tag: 'Roster',
      summary: "A course's sections, exam-takers and skipped people",
      params: COURSE,
      success: { status: 200, description: 'The roster of the last sync', schema: R.Roster },
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/courses/:canvasId/why',
      tag: 'Diagnostics',
      summary: 'Why a course is (not) syncable',
      params: COURSE,
      success: { status: 200, description: 'The verdict with reasons and remedies', schema: R.WhyAnswer },
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/courses/:canvasId/roster/:userId/why',
      tag: 'Diagnostics',
      summary: 'Why a person is (not) an exam-taker',
      params: { ...COURSE, userId: 'The Canvas user id' },
      success: { status: 200, description: 'The verdict with reasons and remedies', schema: R.WhyAnswer },
    },
    {
      method: 'get',
      path: '/api/v1/jobs/:id',
      tag: 'Jobs',
      summary: 'Get a job',
      params: { id: 'The job id' },
      success: { status: 200, description: 'The job with progress and ETA', schema: R.Job },
    },
    {
      method: 'post',
      path: '/api/v1/jobs/:id/cancel',
      tag: 'Jobs',
      summary: 'Cancel a job',
      description: 'A queued job is cancelled at once; a running one stops at its next checkpoint.',
      params: { id: 'The job id' },
      success: { status: 200, description: 'The job after the request', schema: R.Job },
    },
    {
      method: 'get',
      path: '/api/v1/whoami',
      tag: 'Meta',
      summary: 'Check the API token',
      success: { status: 200, description: 'Who the token belongs to', schema: R.WhoAmI },
    },
    {
      method: 'get',
      path: '/api/v1/openapi.json',
      tag: 'Meta',
      summary: 'This API as an OpenAPI 3.1 document',
      description: 'Also rendered as a page for signed-in staff at /docs/api.',
      success: { status: 200, description: 'The OpenAPI document' },
    },
  ];
}

/** The path's `:params`, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/** Every error status an operation can answer with, in order. */
export function errorStatuses(route: ApiRoute): ErrorStatus[] {
  const out = new Set<ErrorStatus>();
  if (route.body || route.query) out.add(400);
  out.add(401);
  if (route.method !== 'get') out.add(403);
  if (pathParams(route.path).length > 0) out.add(404);
  for (const s of route.errors ?? []) out.add(s);
  return [...out].sort((a, b) => a - b);
}
