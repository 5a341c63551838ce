import type { ApiTokenInfo } from '../../staff/api-tokens.js';

/** A token as the API tokens page lists it: no hash, never the token, just what identifies it. */
export function presentApiToken(t: ApiTokenInfo) {
  return {
    id: t.id,
    name: t.name,
    hint: `cc_…${t.last4}`,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt ?? 'never',
    revoked: t.revokedAt !== null,
    revokedAt: t.revokedAt,
  };
}
