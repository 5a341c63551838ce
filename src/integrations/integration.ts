import { isIP } from 'node:net';
import { z } from 'zod';
import { LTI_ENVIRONMENTS, type LtiEnvironment, type LtiRegistration } from '../lti/canvas-platforms.js';
import type { ConnectionStatus } from './reasons.js';

export { LTI_ENVIRONMENTS, type LtiEnvironment, type LtiRegistration };

export const COURSE_ID_TYPES = ['sis_course_id', 'integration_id', 'canvas_id'] as const;
export type CourseIdType = (typeof COURSE_ID_TYPES)[number];

export const USER_ID_TYPES = ['sis_user_id', 'integration_id', 'email', 'login_id'] as const;
export type UserIdType = (typeof USER_ID_TYPES)[number];

/**
 * One institution's connection to one Canvas instance (PRODUCT-SPEC §2). The client secret is
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
  lti?: LtiRegistration | null;
}

const PRIVATE_V4: Array<[number, number]> = [
  [0x0a000000, 8], // 10/8
  [0x7f000000, 8], // 127/8
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0xa9fe0000, 16], // 169.254/16 (link-local, cloud metadata)
  [0x64400000, 10], // 100.64/10 (carrier-grade NAT)
  [0x00000000, 8], // 0/8
];

function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  const kind = isIP(host);
  if (kind === 4) {
    const n = host.split('.').reduce((acc, p) => (acc << 8) + Number(p), 0) >>> 0;
    return PRIVATE_V4.some(([base, bits]) => (n >>> (32 - bits)) === (base >>> (32 - bits)));
  }
  if (kind === 6) {
    if (host === '::1' || host === '::') return true;
    if (/^f[cd]/.test(host) || /^fe[89ab]/.test(host)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped ? isPrivateHost(mapped[1]) : false;
  }
  return false;
}

/** Result of {@link normalizeCanvasUrl}. */
export type CanvasUrlResult = { ok: true; url: string } | { ok: false; message: string };

/**
 * Normalises a Canvas URL to `scheme://host[:port]` (no path, query or trailing slash) and
 * enforces PRODUCT-SPEC §8: https only and no private/loopback hosts unless `allowInsecure`.
 * A missing scheme is taken as https (admins paste `school.instructure.com`). Host names are not
 * resolved here, so a public name pointing at a private address is not caught (documented limit).
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
  if (u.username || u.password) return { ok: false, message: 'must not contain a user name or password' };
  if (!opts.allowInsecure) {
    if (u.protocol !== 'https:') return { ok: false, message: 'must use https://' };
    if (isPrivateHost(u.hostname)) return { ok: false, message: 'must be a public host, not a private or loopback address' };
  }
  return { ok: true, url: `${u.protocol}//${u.host}` };
}

const nonEmpty = (field: string, max = 200) => z.string().trim().min(1, `${field} is required`).max(max);

const ltiSchema = z
  .object({
    environment: z.enum(LTI_ENVIRONMENTS),
    clientId: z.string().trim().regex(/^\d{1,19}$/, 'lti.clientId must be the LTI key id (digits)'),
    deploymentIds: z.array(z.string().trim().min(1)).max(50),
    issuer: z.url().optional(),
    authUrl: z.url().optional(),
    jwksUrl: z.url().optional(),
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
  const canvasUrl = z.string().transform((v, ctx) => {
    const r = normalizeCanvasUrl(v, { allowInsecure: opts.allowInsecureCanvasUrls });
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: `canvasUrl ${r.message}` });
      return z.NEVER;
    }
    return r.url;
  });
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
    lti: ltiSchema.nullable(),
  };
  const create = z
    .object({
      ...fields,
      clientSecret: fields.clientSecret.optional(),
      accountId: fields.accountId.default('self'),
      courseIdType: fields.courseIdType.default('sis_course_id'),
      userIdType: fields.userIdType.default('sis_user_id'),
      studentRoles: fields.studentRoles.default(['StudentEnrollment']),
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
      lti: fields.lti.optional(),
    })
    .strict();
  return { create, patch };
}

export type IntegrationSchemas = ReturnType<typeof createIntegrationSchemas>;
export type CreateIntegrationInput = z.output<IntegrationSchemas['create']>;
export type PatchIntegrationInput = z.output<IntegrationSchemas['patch']>;
