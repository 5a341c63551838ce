/**
 * zod schemas of what the JSON API answers: the presenters' output (src/http/presenters/ and the
 * presenters beside the routes), described once for the OpenAPI document and the reference page.
 * test/unit/api-routes.test.ts checks at compile time that each presenter's return type fits its
 * schema, and test/integration/http/openapi.test.ts parses real answers with them.
 */
import { z } from 'zod';
import { CHANGE_TYPES, type ChangeType } from '../../changes/change-log.js';
import { ERROR_STATUS } from '../error-status.js';
import { COURSE_ID_TYPES, INTEGRATION_FEATURES, LTI_ENVIRONMENTS, USER_ID_TYPES } from '../../integrations/integration.js';
import { CONNECTION_STATES, REASON_CODES } from '../../integrations/reasons.js';
import { JOB_KINDS, JOB_STATES } from '../../jobs/types.js';
import { COURSE_REASONS, ROSTER_REASONS, SECTION_REASONS } from '../../sync/sync-reasons.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import { WEBHOOK_EVENTS } from '../../webhooks/events.js';
import { GRADE_OUTCOMES } from '../../grades/grade-repository.js';

const timestamp = z.string().describe('ISO 8601 timestamp (UTC)');
const canvasId = z.string().describe('Canvas id (always a string)');

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]).describe('Machine-readable error code'),
      message: z.string().describe('What went wrong, naming the field for bad input'),
      help: z.string().optional().describe('What to do about it, when there is something to do'),
    }),
  })
  .describe('Every error answer has this shape.');

export const Check = z.object({
  name: z.string().describe('Probe name, e.g. users_self, account_courses, course_sections, enrollments, include_params, sis_visibility'),
  ok: z.boolean(),
  reason: z.enum(REASON_CODES).optional(),
  detail: z.string(),
});

export const ConnectionStatus = z.object({
  state: z.enum(CONNECTION_STATES),
  reasons: z.array(z.enum(REASON_CODES)),
  missingScopes: z.array(z.string()).describe('Exact Canvas scope strings the key lacks'),
  checks: z.array(Check),
  tokenOwner: z.object({ id: z.string(), name: z.string() }).nullable(),
  verifiedAt: timestamp.nullable(),
  checkedAt: timestamp.nullable(),
  lastAttempt: z
    .object({
      at: timestamp,
      ok: z.boolean(),
      reason: z.enum(REASON_CODES).optional(),
      detail: z.string(),
    })
    .nullable()
    .describe(
      'The latest Generate Keys attempt. A failed attempt while a working token (verified or degraded) is stored is reported here only and leaves state, reasons and checks as they were.',
    ),
  help: z.record(z.string(), z.string()).describe('The remedy for each reason code in `reasons`'),
});

export const LtiRegistration = z.object({
  environment: z.enum(LTI_ENVIRONMENTS),
  clientId: z.string(),
  deploymentIds: z.array(z.string()),
  issuer: z.string().optional(),
  authUrl: z.string().optional(),
  jwksUrl: z.string().optional(),
  grantedScopes: z.array(z.string()).optional().describe('LTI scopes Canvas granted the key, when known (Dynamic Registration, then launches)'),
});

export const Integration = z.object({
  id: z.string(),
  name: z.string(),
  canvasUrl: z.string(),
  clientId: z.string(),
  clientSecretSet: z.boolean().describe('The client secret is write-only: only whether one is stored'),
  accountId: z.string(),
  courseIdType: z.enum(COURSE_ID_TYPES),
  userIdType: z.enum(USER_ID_TYPES),
  studentRoles: z.array(z.string()),
  courseAdminRoles: z.array(z.string()).describe('Role names that make someone a course admin (instructor) on the exam platform'),
  features: z.array(z.enum(INTEGRATION_FEATURES)).describe('What the institution uses; probes and the scope manifest follow it'),
  syncSchedule: z.object({ everyMinutes: z.number().int() }).nullable().describe('Re-sync the sync list every `everyMinutes` (at least 15), or null: manual only'),
  canvasOtherUrl: z
    .string()
    .nullable()
    .describe("The institution's Canvas under another name (vanity domain or *.instructure.com name): a report file Canvas names there is downloaded with the token; null: only canvasUrl"),
  lti: LtiRegistration.nullable(),
  status: ConnectionStatus,
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const IntegrationList = z.object({ integrations: z.array(Integration) });

export const PreflightResult = z.object({
  ok: z.boolean(),
  reasons: z.array(z.enum(REASON_CODES)),
  missingScopes: z.array(z.string()),
  checks: z.array(Check),
  help: z.record(z.string(), z.string()).describe('The remedy for each reason code in `reasons`'),
});

export const SignedLink = z.object({
  url: z.string().describe('Open in a browser; valid until expiresAt'),
  expiresAt: timestamp,
});

export const ScopeList = z.object({ scopes: z.array(z.string()).describe('Canvas scope strings, sorted') });

export const DiagnosedUrl = z.object({
  error: z.string().nullable(),
  description: z.string().nullable(),
  missingScopes: z.array(z.string()),
  reason: z.enum(REASON_CODES).nullable(),
});

export const Job = z.object({
  id: z.string(),
  kind: z.enum(JOB_KINDS),
  integrationId: z.string(),
  state: z.enum(JOB_STATES),
  progress: z.object({
    phase: z.string(),
    done: z.number(),
    total: z.number().nullable(),
    label: z.string().describe('The progress in words, in the units of done/total (e.g. "Reading sections: 1,200 of 1,800 syncable courses")'),
  }),
  etaSeconds: z.number().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  summary: z.record(z.string(), z.unknown()).nullable().describe('Counts of what the job did, by kind'),
});

const WEBHOOK_EVENT = z.enum(WEBHOOK_EVENTS);

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(WEBHOOK_EVENT),
  integrationId: z.string().nullable().describe('null: every integration'),
  createdAt: timestamp,
  enabled: z.boolean(),
  disabledAt: timestamp.nullable(),
  disabledReason: z.string().nullable().describe('Why deliveries stopped (the retry budget ran out, with the last error)'),
  failingSince: timestamp.nullable(),
});

export const WebhookCreated = Webhook.extend({ secret: z.string().describe('The whsec_… signing secret, shown only in this answer') });

export const WebhookList = z.object({ webhooks: z.array(Webhook) });

export const Delivery = z.object({
  id: z.string().describe('The message id, sent as webhook-id'),
  event: WEBHOOK_EVENT,
  attempt: z.number().describe('Attempts made so far'),
  status: z.enum(['pending', 'delivered', 'failed', 'dead']),
  at: timestamp.describe('When the message was written to the outbox'),
  nextAttemptAt: timestamp.nullable(),
  deliveredAt: timestamp.nullable(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
});

export const DeliveryList = z.object({ deliveries: z.array(Delivery) });

export const Course = z.object({
  canvasId,
  name: z.string(),
  courseCode: z.string().nullable(),
  sisCourseId: z.string().nullable(),
  integrationId: z.string().nullable().describe("Canvas's integration_id of the course (the admins' Reference ID)"),
  externalId: z.string().nullable().describe("The course's id of the integration's course ID type"),
  published: z.boolean(),
  syncable: z.boolean(),
  reasons: z.array(z.enum(COURSE_REASONS)),
  term: z
    .object({ name: z.string(), startAt: timestamp.nullable(), endAt: timestamp.nullable() })
    .nullable()
    .describe('The course\'s term; null when Canvas did not send it (the key lacks "Allow Include Parameters")'),
  startAt: timestamp.nullable().describe("The course's own start, only when participation is limited to the course's dates"),
  endAt: timestamp.nullable().describe("The course's own end, only when participation is limited to the course's dates"),
  department: z.string().nullable().describe("The name of the course's sub-account"),
});

export const CoursePage = z.object({
  courses: z.array(Course),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});

const Section = z.object({
  canvasId,
  name: z.string(),
  externalId: z.string().nullable(),
  syncable: z.boolean(),
  reasons: z.array(z.enum(SECTION_REASONS)),
});

export const CourseLookup = Course.extend({
  workflowState: z.string(),
  refreshedAt: timestamp,
  sections: z.array(Section),
  explanations: z.array(z.object({ reason: z.enum(COURSE_REASONS), title: z.string(), remedy: z.string() })),
});

export const Roster = z.object({
  sections: z.array(Section),
  examTakers: z.array(
    z.object({
      canvasUserId: canvasId,
      name: z.string(),
      externalId: z.string().nullable(),
      sectionIds: z.array(z.string()),
      pendingUntil: timestamp.nullable().describe('Canvas shows this student as "Pending" until the course or section starts (the API says active); they are synced already'),
    }),
  ),
  courseAdmins: z.array(z.object({ canvasUserId: canvasId, name: z.string(), externalId: z.string().nullable(), role: z.string() })),
  skipped: z.array(z.object({ canvasUserId: canvasId, name: z.string(), role: z.string(), reasons: z.array(z.enum(ROSTER_REASONS)) })),
});

const Person = z.object({ canvasUserId: canvasId, name: z.string(), externalId: z.string().nullable() });
const Ids = z.object({ externalId: z.string().nullable(), sectionIds: z.array(z.string()) });

export const SyncPreview = z.object({
  diff: z.object({
    added: z.array(Person),
    removed: z.array(Person.extend({ reasons: z.array(z.enum(ROSTER_REASONS)) })),
    changed: z.array(z.object({ canvasUserId: canvasId, name: z.string(), before: Ids, after: Ids })),
  }),
  counts: z.object({
    examTakers: z.number(),
    skipped: z.number(),
    byReason: z.record(z.string(), z.number()).describe('Skipped people per roster reason'),
  }),
  includesStripped: z.boolean().describe('Canvas dropped include[]=email: the key lacks "Allow Include Parameters"'),
});

export const Change = z.object({
  seq: z.number().int().describe('Only grows; the cursor'),
  at: timestamp,
  type: z.enum(CHANGE_TYPES as [ChangeType, ...ChangeType[]]),
  courseCanvasId: z.string().nullable(),
  data: z
    .record(z.string(), z.unknown())
    .describe(
      'enrollment.added/course_admin.added: canvasUserId, name, externalId (+ sectionIds, pendingUntil / role); *.removed: who and why (left_course, role_changed, inactive, concluded, pending, id_emptied, id_hidden); enrollment.updated: before/after of the changed fields; course.updated: changes {field: {before, after}}, syncable, reasons; integration.status_changed: from, to, reasons',
    ),
});

export const ChangePage = z.object({
  changes: z.array(Change),
  nextCursor: z.string().nullable().describe('The last seq of this page as a string, to pass as ?after=; null when no more entries follow'),
});

export const WhyAnswer = z.object({
  verdict: z.enum(['syncable', 'not_syncable', 'exam_taker', 'skipped', 'not_seen']),
  reasons: z.array(z.object({ code: z.string(), title: z.string(), remedy: z.string() })),
  asOf: timestamp.nullable().describe('When the data behind the answer came from Canvas'),
  detail: z.record(z.string(), z.unknown()),
});

export const WhoAmI = z.object({ actor: z.string().describe('api-token:<id> or staff:<id>') });

const GradeOutcome = z.object({
  userExternalId: z.string(),
  outcome: z.enum(GRADE_OUTCOMES),
  detail: z.string().optional().describe("The roster reason of not_exam_taker, Canvas's message of failed, what was wrong with an invalid_score"),
});

export const GradePost = z.object({
  exam: z.object({ key: z.string(), title: z.string(), pointsPossible: z.number() }),
  assignmentId: z.string().nullable().describe('The Canvas assignment (its integration_id is the exam key)'),
  assignmentUrl: z.string().nullable(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  message: z.string().nullable().describe('Why the post failed or stopped'),
  jobId: z.string().nullable(),
  postedAt: timestamp.nullable(),
  outcomes: z.array(GradeOutcome),
});

export const GradePreview = z.object({
  dryRun: z.literal(true),
  assignmentId: z.string().nullable().describe('The assignment a post would use; null when a post would create it'),
  notes: z.array(z.string()),
  outcomes: z.array(GradeOutcome).describe('posted here means "would be posted"'),
});

export const SyncListPage = z.object({
  courses: z.array(
    z.object({
      canvasId: z.string(),
      externalId: z.string().nullable().describe("The course's ID of the integration's course ID type"),
      name: z.string().nullable(),
      addedAt: timestamp,
      lastSyncedAt: timestamp.nullable(),
      examTakers: z.number().int().describe('How many exam-takers the last sync found'),
      courseAdmins: z.number().int().describe('How many course admins the last sync found'),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const SyncListChange = z.object({
  added: z.array(z.string()).describe('Canvas ids added to the list'),
  removed: z.array(z.string()).describe('Canvas ids removed from the list'),
  errors: z.array(
    z.object({
      canvasId: z.string(),
      outcome: z.enum(['unknown_course', 'not_syncable', 'already_listed', 'not_listed']),
      reasons: z.array(z.string()).optional(),
    }),
  ),
});

export const SyncListImport = z.object({
  applied: z.boolean(),
  dryRun: z.boolean(),
  rows: z.array(
    z.object({
      line: z.number().int().nullable().describe("The file's line (the header is line 1); null for a listed course that replace mode removes"),
      courseId: z.string().nullable(),
      outcome: z.enum(['added', 'removed', 'already_listed', 'not_listed', 'unknown_course', 'not_syncable', 'duplicate_row', 'blank']),
      canvasId: z.string().optional(),
      reasons: z.array(z.string()).optional(),
    }),
  ),
  summary: z.object({
    mode: z.enum(['add', 'remove', 'replace']),
    rows: z.number().int(),
    added: z.number().int(),
    removed: z.number().int(),
    alreadyListed: z.number().int(),
    notListed: z.number().int(),
    errors: z.number().int(),
    listed: z.number().int(),
  }),
});
