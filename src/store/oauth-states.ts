import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { columnAad, type Vault } from '../vault/vault.js';

/** SHA-256 hex: states and browser-binding cookies are stored only as this hash. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A pending authorization, decrypted for the callback. */
export interface PendingAuthorization {
  integrationId: string;
  codeVerifier: string;
  redirectUri: string;
  scopes: string[];
  createdAt: string;
}

export type ConsumeResult =
  | { ok: true; pending: PendingAuthorization }
  | { ok: false; why: 'unknown' | 'expired' | 'used' | 'foreign_browser'; integrationId?: string };

export interface OAuthStates {
  save(p: { state: string; browserSecret: string; integrationId: string; codeVerifier: string; redirectUri: string; scopes: string[]; expiresAt: Date }): Promise<void>;
  /**
   * Marks the state used, atomically (`used_at` set only where it is null, unexpired and bound to
   * this browser), so a replayed or raced callback loses. A foreign browser does NOT consume it.
   */
  consume(state: string, browserSecret: string | undefined): Promise<ConsumeResult>;
  /** The newest unused, unexpired state of this browser (for Canvas errors that drop `state`). */
  consumeLatestForBrowser(browserSecret: string): Promise<ConsumeResult>;
  /** Deletes states that expired more than a day ago. */
  prune(): Promise<number>;
}

const VERIFIER_AAD = columnAad('oauth_states', 'pkce_verifier_enc');

/** Single-use, browser-bound, expiring OAuth states on `oauth_states`. */
export function createOAuthStates(deps: { db: Kysely<Database>; vault: Pick<Vault, 'encrypt' | 'decrypt'>; clock: () => Date }): OAuthStates {
  const { db, vault, clock } = deps;

  async function take(stateHash: string, browserHash: string | undefined): Promise<ConsumeResult> {
    const now = clock().toISOString();
    if (browserHash) {
      const r = await db
        .updateTable('oauth_states')
        .set({ used_at: now })
        .where('state_hash', '=', stateHash)
        .where('browser_hash', '=', browserHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        const row = (await db.selectFrom('oauth_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst())!;
        return {
          ok: true,
          pending: {
            integrationId: row.integration_id,
            codeVerifier: vault.decrypt(row.pkce_verifier_enc, VERIFIER_AAD),
            redirectUri: row.redirect_uri,
            scopes: JSON.parse(row.scopes) as string[],
            createdAt: row.created_at,
          },
        };
      }
    }
    const row = await db.selectFrom('oauth_states').select(['integration_id', 'browser_hash', 'used_at', 'expires_at']).where('state_hash', '=', stateHash).executeTakeFirst();
    if (!row) return { ok: false, why: 'unknown' };
    const why = row.used_at ? 'used' : row.expires_at <= now ? 'expired' : 'foreign_browser';
    return { ok: false, why, integrationId: row.integration_id };
  }

  return {
    async save(p) {
      await db
        .insertInto('oauth_states')
        .values({
          state_hash: sha256(p.state),
          integration_id: p.integrationId,
          browser_hash: sha256(p.browserSecret),
          pkce_verifier_enc: vault.encrypt(p.codeVerifier, VERIFIER_AAD),
          redirect_uri: p.redirectUri,
          scopes: JSON.stringify(p.scopes),
          created_at: clock().toISOString(),
          expires_at: p.expiresAt.toISOString(),
          used_at: null,
        })
        .execute();
    },
    consume: (state, browserSecret) => take(sha256(state), browserSecret ? sha256(browserSecret) : undefined),
    async consumeLatestForBrowser(browserSecret) {
      const browserHash = sha256(browserSecret);
      const row = await db
        .selectFrom('oauth_states')
        .select('state_hash')
        .where('browser_hash', '=', browserHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', clock().toISOString())
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (!row) return { ok: false, why: 'unknown' };
      return take(row.state_hash, browserHash);
    },
    async prune() {
      const cutoff = new Date(clock().getTime() - 24 * 3600 * 1000).toISOString();
      const r = await db.deleteFrom('oauth_states').where('expires_at', '<', cutoff).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
