import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a signed link grants: `setup` opens one integration's LMS Settings; `authorize` starts Generate Keys. */
export type LinkPurpose = 'setup' | 'authorize';

/** How long each kind of link stays valid. */
export const LINK_TTL_MS: Record<LinkPurpose, number> = {
  authorize: 24 * 3600 * 1000,
  setup: 7 * 24 * 3600 * 1000,
};

/**
 * Where each kind of link lands (served by src/http/routes/oauth.ts). The token travels as
 * `?token=`, a query parameter the request logger redacts: a link is a credential for 1–7 days.
 */
const LINK_PATH: Record<LinkPurpose, (token: string) => string> = {
  authorize: (t) => `/oauth/start?token=${encodeURIComponent(t)}`,
  setup: (t) => `/setup?token=${encodeURIComponent(t)}`,
};

export interface SignedLinks {
  /** A full link under `publicUrl` for `integrationId`, valid for {@link LINK_TTL_MS} of its purpose. */
  issue(purpose: LinkPurpose, integrationId: string): { url: string; expiresAt: string };
  /** A URL-safe token `<payload>.<mac>` for `integrationId`, valid until `expiresAt`. */
  sign(purpose: LinkPurpose, integrationId: string, expiresAt: Date): string;
  /** The integration id when the token is authentic, of this purpose and unexpired; else undefined. */
  verify(purpose: LinkPurpose, token: string): string | undefined;
}

/**
 * HMAC-SHA256 signed, expiring links for one integration. The key is derived from SECRET_KEY
 * (passed in as `secret`), so a key rotation invalidates outstanding links, which is acceptable
 * for links that live hours.
 */
export function createSignedLinks(deps: { secret: string; clock: () => Date; publicUrl?: string }): SignedLinks {
  const mac = (payload: string) => createHmac('sha256', `signed-links:v1:${deps.secret}`).update(payload).digest('base64url');
  const links: SignedLinks = {
    issue(purpose, integrationId) {
      const expiresAt = new Date(deps.clock().getTime() + LINK_TTL_MS[purpose]);
      return { url: `${deps.publicUrl ?? ''}${LINK_PATH[purpose](links.sign(purpose, integrationId, expiresAt))}`, expiresAt: expiresAt.toISOString() };
    },
    sign(purpose, integrationId, expiresAt) {
      const payload = Buffer.from(
        JSON.stringify({ p: purpose, i: integrationId, e: Math.floor(expiresAt.getTime() / 1000), n: randomBytes(6).toString('base64url') }),
      ).toString('base64url');
      return `${payload}.${mac(payload)}`;
    },
    verify(purpose, token) {
      const [payload, sig, extra] = token.split('.');
      if (!payload || !sig || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(payload));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { p?: string; i?: string; e?: number };
        if (body.p !== purpose || typeof body.i !== 'string' || typeof body.e !== 'number') return undefined;
        if (body.e * 1000 <= deps.clock().getTime()) return undefined;
        return body.i;
      } catch {
        return undefined;
      }
    },
  };
  return links;
}
