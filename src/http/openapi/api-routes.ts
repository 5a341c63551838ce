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
import { gradePostBody } from '../routes/grades.js';
import { changesQuery } from '../routes/changes.js';
import { diagnoseSchema, emptySchema } from '../routes/integrations-api.js';
import { createWebhookBody } from '../routes/webhooks.js';
import { exportQuery, importQuery, syncListChangeBody, syncListEmptyBody, syncListQuery } from '../routes/sync-list.js';
import * as R from './response-schemas.js';

export type ApiMethod = 'get' | 'post' | 'patch' | 'delete';

/** Error statuses an operation can answer with, each with the `{ error }` shape. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 502;

export interface ApiRoute {
  method: ApiMethod;
  /** Express path template, e.g. `/api/v1/integrations/:id`. */
  path: string;
  /** Groups operations on the reference page and in the document's tags. */
  tag: 'Integrations' | 'Connection' | 'Courses' | 'Roster' | 'Sync list' | 'Changes' | 'Grades' | 'Jobs' | 'Webhooks' | 'Diagnostics' | 'Meta';
  summary: string;
  description?: string;
  /** What each `:param` of the path is. */
  params?: Record<string, string>;
  /** The query schema the handler parses (strings in, as Express gives them). */
  query?: z.ZodObject;
  /** The JSON body schema the handler parses. */
  body?: z.ZodType;
  /** A body that is a file (not JSON): the media types it may have. */
  fileBody?: { mediaTypes: string[]; description: string };
  /** `schema`: a JSON answer; `mediaTypes`: a file answer of one of these types. */
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType; mediaTypes?: string[] };
  /** Answers beyond success and the `{ error }` ones (e.g. 422 with the same shape as success). */
  otherAnswers?: Array<{ status: number; description: string; schema: z.ZodType }>;
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
      errors: [409],
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/course-sync',
      tag: 'Roster',
      summary: 'Start a roster sync of several courses',
      params: INTEGRATION_ID,
      body: selectionBody,
      success: { status: 202, description: 'The sync job', schema: R.Job },
      errors: [409],
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
      errors: [409],
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
      method: 'post',
      path: '/api/v1/integrations/:id/courses/:canvasId/grade-posts',
      tag: 'Grades',
      summary: "Post an exam's scores to the course's Canvas gradebook",
      description:
        "Finds the exam's assignment by its key (remembered, else the assignment whose integration_id is the key) or creates it (points, published), reads Canvas's scores and posts only those that differ, in bulk. External ids are mapped through the course's last roster sync. With dryRun the outcomes each score would have, and nothing written.",
      params: COURSE,
      body: gradePostBody,
      success: { status: 202, description: 'The grade_post job', schema: R.Job },
      otherAnswers: [{ status: 200, description: 'A dry run: the outcome each score would have; nothing is written to Canvas', schema: R.GradePreview }],
      errors: [409, 502],
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/courses/:canvasId/grade-posts/:examKey',
      tag: 'Grades',
      summary: "An exam's last post: its assignment and every student's outcome",
      params: { ...COURSE, examKey: 'The exam key' },
      success: { status: 200, description: 'The last post of the exam', schema: R.GradePost },
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/changes',
      tag: 'Changes',
      summary: "The integration's change log after a cursor",
      description:
        'What roster syncs found changed (exam-takers added, removed or updated, course admins added or removed, course facts) and connection status changes, in seq order. seq only grows; pass nextCursor as after to read on. A sync that found nothing changed appends nothing.',
      params: INTEGRATION_ID,
      query: changesQuery,
      success: { status: 200, description: 'A page of changes, oldest first', schema: R.ChangePage },
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
      method: 'post',
      path: '/api/v1/webhooks',
      tag: 'Webhooks',
      summary: 'Add a webhook endpoint',
      description:
        'The URL is checked like a Canvas URL (https, a public host). Unknown event names are a 400 that lists the events. The answer carries the signing secret (`whsec_…`), the only time it is shown.',
      // Documented with the strict URL policy; ALLOW_INSECURE_CANVAS_URLS also admits http and private hosts.
      body: createWebhookBody({ allowInsecure: false }),
      success: { status: 201, description: 'The endpoint and its signing secret', schema: R.WebhookCreated },
    },
    {
      method: 'get',
      path: '/api/v1/webhooks',
      tag: 'Webhooks',
      summary: 'List webhook endpoints',
      success: { status: 200, description: 'Every endpoint, with its state (no secrets)', schema: R.WebhookList },
    },
    {
      method: 'delete',
      path: '/api/v1/webhooks/:id',
      tag: 'Webhooks',
      summary: 'Delete a webhook endpoint',
      params: { id: 'The endpoint id' },
      success: { status: 204, description: 'Deleted, with its delivery log' },
    },
    {
      method: 'post',
      path: '/api/v1/webhooks/:id/enable',
      tag: 'Webhooks',
      summary: 'Enable a disabled webhook endpoint',
      params: { id: 'The endpoint id' },
      success: { status: 200, description: 'The endpoint, enabled', schema: R.Webhook },
    },
    {
      method: 'get',
      path: '/api/v1/webhooks/:id/deliveries',
      tag: 'Webhooks',
      summary: 'The delivery log of an endpoint',
      description: 'Newest first, at most 100. `at` is when the message was written; `status` is pending, delivered, failed (a retry is due at `nextAttemptAt`) or dead.',
      params: { id: 'The endpoint id' },
      success: { status: 200, description: 'The deliveries', schema: R.DeliveryList },
    },
    {
      method: 'post',
      path: '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
      tag: 'Webhooks',
      summary: 'Send one message again',
      description: 'Same `webhook-id` and body, a new attempt, due now. 409 while the endpoint is disabled.',
      params: { id: 'The endpoint id', deliveryId: 'The message id (webhook-id)' },
      success: { status: 202, description: 'The delivery, queued', schema: R.Delivery },
      errors: [409],
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/sync-list',
      tag: 'Sync list',
      summary: 'List the courses on the sync list',
      description: 'In Canvas id order (as numbers); `examTakers` and `courseAdmins` are the counts of the last sync.',
      params: INTEGRATION_ID,
      query: syncListQuery,
      success: { status: 200, description: 'One page of the list', schema: R.SyncListPage },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/sync-list',
      tag: 'Sync list',
      summary: 'Add and remove courses by Canvas id',
      description: 'Valid ids are applied together; each other id is listed in `errors` with why (unknown_course, not_syncable with reasons, already_listed, not_listed).',
      params: INTEGRATION_ID,
      body: syncListChangeBody,
      success: { status: 200, description: 'What was added and removed, and what was not', schema: R.SyncListChange },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/sync-list/import',
      tag: 'Sync list',
      summary: 'Import a CSV or XLSX file into the sync list',
      description:
        'The body is the file itself. Its header row needs a `course_id` column holding the IDs of the integration’s course ID type. ' +
        '`dryRun=true` previews; otherwise the import is atomic: with any row in error nothing changes (422) unless `ignoreErrors=true`. ' +
        'A file over 10 MB or 50,000 rows, without a `course_id` header, or unreadable is a 400 naming the problem.',
      params: INTEGRATION_ID,
      query: importQuery,
      fileBody: { mediaTypes: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'], description: 'The CSV or XLSX file' },
      success: { status: 200, description: 'Applied (or previewed): every row’s outcome and the summary', schema: R.SyncListImport },
      otherAnswers: [{ status: 422, description: 'Not applied because some rows are errors: every row’s outcome', schema: R.SyncListImport }],
    },
    {
      method: 'get',
      path: '/api/v1/integrations/:id/sync-list/export',
      tag: 'Sync list',
      summary: 'Export the sync list (or the template) as CSV or XLSX',
      description: 'Columns: course_id, canvas_id, name, course_code, term, start_at, end_at, department, syncable, reasons, exam_takers, course_admins, last_synced_at.',
      params: INTEGRATION_ID,
      query: exportQuery,
      success: { status: 200, description: 'The file', mediaTypes: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'] },
    },
    {
      method: 'post',
      path: '/api/v1/integrations/:id/sync-list/sync',
      tag: 'Sync list',
      summary: 'Re-sync every course on the sync list now',
      description: 'A `sync_list_sync` job; the one already queued or running is returned instead of a second one.',
      params: INTEGRATION_ID,
      body: syncListEmptyBody,
      success: { status: 202, description: 'The sync list job', schema: R.Job },
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
