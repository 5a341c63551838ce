import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * How long a login kept through platform storage waits for its launch. The login page, Canvas's
 * authorize step and the launch page run back to back; five minutes leaves room for a slow browser
 * while ltijs still refuses any id_token older than its own minute.
 */
export const STORAGE_LOGIN_TTL_MS = 5 * 60 * 1000;

/** A login started on the platform-storage path (only hashes are stored). */
export interface StorageLogin {
  issuer: string;
  clientId: string;
  integrationId: string;
  nonceHash: string;
}

/** Why a storage-path state could not be used. */
export type StorageUseResult = { ok: true; login: StorageLogin } | { ok: false; reason: 'unknown' | 'expired' | 'used' };

/**
 * The server half of logins whose state and nonce the browser keeps in Canvas's platform storage:
 * it binds a state to its nonce, platform and integration, expires it, and lets it be used once.
 * Used where ltijs would rely on its state cookie.
 */
export function createPlatformStorageRepository(deps: { db: Kysely<Database>; clock: () => Date }) {
  const { db, clock } = deps;

  async function why(state: string): Promise<StorageUseResult & { ok: false }> {
    const row = await db.selectFrom('lti_storage_logins').select(['used_at', 'expires_at']).where('state_hash', '=', sha256(state)).executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.used_at) return { ok: false, reason: 'used' };
    return { ok: false, reason: 'expired' };
  }

  const toLogin = (r: { issuer: string; client_id: string; integration_id: string; nonce_hash: string }): StorageLogin => ({
    issuer: r.issuer,
    clientId: r.client_id,
    integrationId: r.integration_id,
    nonceHash: r.nonce_hash,
  });

  return {
    /** Records a new login's state and nonce (hashed) for {@link STORAGE_LOGIN_TTL_MS}. */
    async begin(input: { state: string; nonce: string; issuer: string; clientId: string; integrationId: string }): Promise<void> {
      const now = clock();
      await db
        .insertInto('lti_storage_logins')
        .values({
          state_hash: sha256(input.state),
          nonce_hash: sha256(input.nonce),
          issuer: input.issuer,
          client_id: input.clientId,
          integration_id: input.integrationId,
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + STORAGE_LOGIN_TTL_MS).toISOString(),
          used_at: null,
          connected_at: null,
        })
        .execute();
    },

    /** The login this state was issued for on the storage path (whatever its condition now), or undefined. */
    async peek(state: string): Promise<StorageLogin | undefined> {
      const row = await db
        .selectFrom('lti_storage_logins')
        .select(['issuer', 'client_id', 'integration_id', 'nonce_hash'])
        .where('state_hash', '=', sha256(state))
        .executeTakeFirst();
      return row ? toLogin(row) : undefined;
    },

    /**
     * Uses a state up for one launch: a conditional UPDATE (unused and unexpired), so of several
     * posts of one id_token exactly one proceeds; the others learn why not.
     */
    async use(state: string): Promise<StorageUseResult> {
      const now = clock().toISOString();
      const row = await db
        .updateTable('lti_storage_logins')
        .set({ used_at: now })
        .where('state_hash', '=', sha256(state))
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['issuer', 'client_id', 'integration_id', 'nonce_hash'])
        .executeTakeFirst();
      return row ? { ok: true, login: toLogin(row) } : why(state);
    },

    /**
     * Lets the one hop from the validated launch to the tool's page through, once, within the
     * login's lifetime; later or repeated hops (a copied URL) get false.
     */
    async connect(state: string): Promise<boolean> {
      const now = clock().toISOString();
      const row = await db
        .updateTable('lti_storage_logins')
        .set({ connected_at: now })
        .where('state_hash', '=', sha256(state))
        .where('used_at', 'is not', null)
        .where('connected_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('state_hash')
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Deletes logins that expired more than an hour ago (called opportunistically). */
    async prune(): Promise<void> {
      const cutoff = new Date(clock().getTime() - 60 * 60 * 1000).toISOString();
      await db.deleteFrom('lti_storage_logins').where('expires_at', '<', cutoff).execute();
    },
  };
}

/** SHA-256 hex, as the repository stores nonces (so a caller can compare without the plain value). */
export function storageHash(value: string): string {
  return sha256(value);
}

export type PlatformStorageRepository = ReturnType<typeof createPlatformStorageRepository>;
