import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** How long an in-frame page token opens its page: about one sitting in Canvas's course navigation. */
export const FRAME_TOKEN_TTL_MS = 60 * 60 * 1000;

/** The query parameter that carries a frame token (redacted by the logger like every other token). */
export const FRAME_TOKEN_PARAM = 'frame_token';

/** The one page a frame token opens: the instructor's course page, or the admin's landing. */
export type FramePage = 'course' | 'admin';

/** What a frame token says: who launched, into which integration (and course), for which page, until when. */
export interface FrameClaims {
  page: FramePage;
  integrationId: string;
  /** The launch's course (course page only). */
  courseId?: string;
  /** The course title Canvas sent with the launch (course page only). */
  courseTitle?: string | null;
  /** The launching user's LTI subject. */
  sub: string;
  /** Expiry, milliseconds since the epoch. */
  exp: number;
}

export type FrameRefusal = 'malformed' | 'bad_signature' | 'expired' | 'wrong_page' | 'wrong_integration' | 'wrong_course';

export type FrameCheck = { ok: true; claims: FrameClaims } | { ok: false; reason: FrameRefusal };

const VERSION = 'v1';

/**
 * Signed, audience-bound tokens for the read-only pages an LTI launch shows inside Canvas's iframe
 * when the browser drops the service's session cookie there (third-party cookies blocked). They
 * stand in for the session on exactly one page: the page, integration and course are signed into
 * the token and checked against the URL, so a token never opens another course, another
 * integration, or a page that changes state. Stateless on purpose: reloading the frame works for
 * the token's lifetime, and nothing is stored that could outlive a key rotation.
 *
 * The key is derived from the session secrets with its own HKDF label, so a frame token can never
 * pass as a session signature or a signed link and vice versa. Tokens are signed with the newest
 * secret and accepted under any current one (rotation does not break open frames).
 */
export function createFrameTokens(deps: { secrets: string[]; clock: () => Date; ttlMs?: number }) {
  if (deps.secrets.length === 0) throw new Error('frame tokens need at least one session secret');
  const keys = deps.secrets.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), 'canvas-companion lti frame token v1', 32)));
  const ttl = deps.ttlMs ?? FRAME_TOKEN_TTL_MS;
  const sign = (key: Buffer, body: string) => createHmac('sha256', key).update(`${VERSION}.${body}`).digest();

  return {
    /** Signs claims for one page; `exp` is set from the clock. Returns the token (URL-safe). */
    issue(claims: Omit<FrameClaims, 'exp'>): string {
      const body = Buffer.from(JSON.stringify({ ...claims, exp: deps.clock().getTime() + ttl }), 'utf8').toString('base64url');
      return `${VERSION}.${body}.${sign(keys[0]!, body).toString('base64url')}`;
    },

    /**
     * Checks a token against the page being opened: signature first (nothing of an unsigned token
     * is read), then expiry, then that the page, integration and course in the URL are the ones
     * signed in. Never throws; a refusal names why.
     */
    verify(token: string, expected: { page: FramePage; integrationId: string; courseId?: string }): FrameCheck {
      const parts = token.split('.');
      if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) return { ok: false, reason: 'malformed' };
      const body = parts[1];
      const given = Buffer.from(parts[2], 'base64url');
      const valid = keys.some((k) => {
        const want = sign(k, body);
        return given.length === want.length && timingSafeEqual(given, want);
      });
      if (!valid) return { ok: false, reason: 'bad_signature' };
      let claims: FrameClaims;
      try {
        claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as FrameClaims;
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      if (typeof claims.exp !== 'number' || claims.exp <= deps.clock().getTime()) return { ok: false, reason: 'expired' };
      if (claims.page !== expected.page) return { ok: false, reason: 'wrong_page' };
      if (claims.integrationId !== expected.integrationId) return { ok: false, reason: 'wrong_integration' };
      if (expected.page === 'course' && claims.courseId !== expected.courseId) return { ok: false, reason: 'wrong_course' };
      return { ok: true, claims };
    },
  };
}

export type FrameTokens = ReturnType<typeof createFrameTokens>;
