import { z } from 'zod';
import { DEFAULT_INTEGRATION_FEATURES, INTEGRATION_FEATURES, type IntegrationFeature } from '../canvas/endpoints.js';
import { LTI_ENVIRONMENTS, type LtiEnvironment, type LtiRegistration } from '../lti/canvas-platforms.js';
import { checkOutboundUrl, outboundUrl, type OutboundPolicy } from '../net/url-guard.js';
import type { ConnectionStatus } from './reasons.js';

export { LTI_ENVIRONMENTS, type LtiEnvironment, type LtiRegistration };
export { DEFAULT_INTEGRATION_FEATURES, INTEGRATION_FEATURES, type IntegrationFeature };

export const COURSE_ID_TYPES = ['sis_course_id', 'integration_id', 'canvas_id'] as const;
export type CourseIdType = (typeof COURSE_ID_TYPES)[number];

export const USER_ID_TYPES = ['sis_user_id', 'integration_id', 'email', 'login_id'] as const;
export type UserIdType = (typeof USER_ID_TYPES)[number];

/**
 * One institution's connection to one Canvas instance. The client secret is
 * never part of it: only whether one is set. Read the secret with the repository's `getClientSecret`.
 */
export interface Integration {
  id: string;
  name: string;
  canvasUrl: string;
  clientId: string;
  clientSecretSet: boolean;
  accountId: string;
  courseIdType: CourseIdType;
  userIdType: UserIdType;
  studentRoles: string[];
  /** Role names that make someone a course admin (instructor) of the course on the exam platform. */
  courseAdminRoles: string[];
  /** What the institution uses; probes, the scope manifest and the Configure page follow it. */
  features: IntegrationFeature[];
  /** Re-sync the sync list every `everyMinutes`; null or absent: manual only. */
  syncSchedule?: SyncSchedule | null;
  /**
   * The institution's Canvas under another name (origin): its vanity domain when `canvasUrl` is the
   * `*.instructure.com` name, or the other way round. A report file Canvas names there is downloaded
   * with the token; null: only `canvasUrl` itself.
   */
  canvasOtherUrl?: string | null;
  status: ConnectionStatus;
  lti?: LtiRegistration;
  createdAt: string;
  updatedAt: string;
}

/** The writable fields of an integration (create: all of these, patch: any of these). */
export interface IntegrationInput {
  name: string;
  canvasUrl: string;
  clientId: string;
  clientSecret?: string;
  accountId: string;
  courseIdType: CourseIdType;
  userIdType: UserIdType;
  studentRoles: string[];
  courseAdminRoles: string[];
  features: IntegrationFeature[];
  syncSchedule?: SyncSchedule | null;
  canvasOtherUrl?: string | null;
  lti?: LtiRegistration | null;
}

/** The sync list's re-sync schedule. */
export interface SyncSchedule {
  everyMinutes: number;
}

/** The shortest schedule: a run of a large list takes minutes, and Canvas's rate limits are per token. */
export const MIN_SYNC_EVERY_MINUTES = 15;

/** `syncSchedule`: null (manual only) or `{ everyMinutes }`, an integer of at least 15 (and at most a week). */
export const syncScheduleSchema = z
  .object({
    everyMinutes: z
      .number({ error: 'syncSchedule.everyMinutes must be a whole number of minutes, at least 15' })
      .int('syncSchedule.everyMinutes must be a whole number of minutes, at least 15')
      .min(MIN_SYNC_EVERY_MINUTES, 'syncSchedule.everyMinutes must be at least 15 (minutes)')
      .max(7 * 24 * 60, 'syncSchedule.everyMinutes must be at most 10080 (a week)'),
  })
  .strict()
  .nullable();

/** Result of {@link normalizeCanvasUrl}. */
export type CanvasUrlResult = { ok: true; url: string } | { ok: false; message: string };

/**
 * Normalises a Canvas URL to `scheme://host[:port]` (no path, query or trailing slash) and
 * applies the outbound-URL guard: https only and no private/loopback hosts unless `allowInsecure`.
 * A missing scheme is taken as https (admins paste `school.instructure.com`). Host names are not
 * resolved here: every connection resolves them through the guard (src/net/guarded-fetch.ts), so
 * a public name pointing at a private address is refused when it is called.
 */
export function normalizeCanvasUrl(raw: string, opts: { allowInsecure: boolean }): CanvasUrlResult {
  const trimmed = raw.trim();
  if (!trimmed) return { ok: false, message: 'is required, e.g. https://school.instructure.com' };
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  } catch {
    return { ok: false, message: 'is not a URL, e.g. https://school.instructure.com' };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, message: 'must start with https://' };
  const guard = checkOutboundUrl(u, opts);
  if (!guard.ok) return { ok: false, message: guard.why };
  return { ok: true, url: `${u.protocol}//${u.host}` };
}

const nonEmpty = (field: string, max = 200) => z.string().trim().min(1, `${field} is required`).max(max);

const ltiSchema = (urls: OutboundPolicy) => z
  .object({
    environment: z.enum(LTI_ENVIRONMENTS),
    clientId: z.string().trim().regex(/^\d{1,19}$/, 'lti.clientId must be the LTI key id (digits)'),
    deploymentIds: z.array(z.string().trim().min(1)).max(50),
    issuer: outboundUrl('lti.issuer', urls).optional(),
    authUrl: outboundUrl('lti.authUrl', urls).optional(),
    jwksUrl: outboundUrl('lti.jwksUrl', urls).optional(),
    grantedScopes: z.array(z.string().trim().min(1).max(300)).max(50).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.environment !== 'custom' && (v.issuer || v.authUrl || v.jwksUrl)) {
      ctx.addIssue({ code: 'custom', message: 'issuer, authUrl and jwksUrl are only for environment "custom"' });
    }
    if (v.environment === 'custom' && (!v.issuer || !v.authUrl || !v.jwksUrl)) {
      ctx.addIssue({ code: 'custom', message: 'environment "custom" needs issuer, authUrl and jwksUrl' });
    }
  });

/**
 * zod schemas for creating and patching integrations. Both are strict (an unknown field is a 400
 * naming it). The Canvas URL check depends on configuration, hence the factory.
 */
export function createIntegrationSchemas(opts: { allowInsecureCanvasUrls: boolean }) {
  const canvasUrlField = (field: string) =>
    z.string().transform((v, ctx) => {
      const r = normalizeCanvasUrl(v, { allowInsecure: opts.allowInsecureCanvasUrls });
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: `${field} ${r.message}` });
        return z.NEVER;
      }
      return r.url;
    });
  const canvasUrl = canvasUrlField('canvasUrl');
  const fields = {
    name: nonEmpty('name'),
    canvasUrl,
    clientId: z
      .string()
      .trim()
      .regex(/^\d{1,19}$/, 'clientId must be the developer key id: the number in the Details column, digits only'),
    clientSecret: z.string().trim().min(1, 'clientSecret is required').max(500),
    accountId: z
      .string()
      .trim()
      .regex(/^(self|\d{1,19}|sis_account_id:.+)$/, 'accountId must be "self", a Canvas account id, or sis_account_id:…'),
    courseIdType: z.enum(COURSE_ID_TYPES),
    userIdType: z.enum(USER_ID_TYPES),
    studentRoles: z.array(z.string().trim().min(1).max(200)).min(1, 'studentRoles needs at least one role').max(50),
    courseAdminRoles: z.array(z.string().trim().min(1).max(200)).min(1, 'courseAdminRoles needs at least one role').max(50),
    lti: ltiSchema({ allowInsecure: opts.allowInsecureCanvasUrls }).nullable(),
    features: z
      .array(
        z.string().refine((v): v is IntegrationFeature => (INTEGRATION_FEATURES as readonly string[]).includes(v), {
          message: `features: each must be one of ${INTEGRATION_FEATURES.join(', ')}`,
        }),
      )
      .max(INTEGRATION_FEATURES.length * 2)
      // Stored in the registry's order, without repeats.
      .transform((v) => INTEGRATION_FEATURES.filter((f) => v.includes(f))),
    syncSchedule: syncScheduleSchema,
    canvasOtherUrl: canvasUrlField('canvasOtherUrl').nullable(),
  };
  const create = z
    .object({
      ...fields,
      clientSecret: fields.clientSecret.optional(),
      accountId: fields.accountId.default('self'),
      courseIdType: fields.courseIdType.default('sis_course_id'),
      userIdType: fields.userIdType.default('sis_user_id'),
      studentRoles: fields.studentRoles.default(['StudentEnrollment']),
      courseAdminRoles: fields.courseAdminRoles.default(['TeacherEnrollment']),
      features: fields.features.default([...DEFAULT_INTEGRATION_FEATURES]),
      syncSchedule: fields.syncSchedule.optional(),
      canvasOtherUrl: fields.canvasOtherUrl.optional(),
      lti: fields.lti.optional(),
    })
    .strict();
  const patch = z
    .object({
      name: fields.name.optional(),
      canvasUrl: fields.canvasUrl.optional(),
      clientId: fields.clientId.optional(),
      clientSecret: fields.clientSecret.optional(),
      accountId: fields.accountId.optional(),
      courseIdType: fields.courseIdType.optional(),
      userIdType: fields.userIdType.optional(),
      studentRoles: fields.studentRoles.optional(),
      courseAdminRoles: fields.courseAdminRoles.optional(),
      features: fields.features.optional(),
      syncSchedule: fields.syncSchedule.optional(),
      canvasOtherUrl: fields.canvasOtherUrl.optional(),
      lti: fields.lti.optional(),
    })
    .strict();
  return { create, patch };
}

export type IntegrationSchemas = ReturnType<typeof createIntegrationSchemas>;
/** `courseAdminRoles` may be left out by callers that build the input in code (it defaults to teachers). */
export type CreateIntegrationInput = Omit<z.output<IntegrationSchemas['create']>, 'courseAdminRoles' | 'features'> & { courseAdminRoles?: string[]; features?: IntegrationFeature[] };
export type PatchIntegrationInput = z.output<IntegrationSchemas['patch']>;
