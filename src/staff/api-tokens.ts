import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError, invalid } from '../errors/app-error.js';
import type { Database } from '../store/schema.js';
import { hashApiToken, randomToken } from '../vault/vault.js';

/** An API token as listed (never the token or its hash). */
export interface ApiTokenInfo {
  id: string;
  name: string;
  last4: string;
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiTokens {
  /** Creates a token `cc_<random>`; `token` is returned only here and stored only as a SHA-256 hash. */
  create(input: { name: string; createdBy?: string | null }): Promise<{ token: string; info: ApiTokenInfo }>;
  list(): Promise<ApiTokenInfo[]>;
  /** @throws AppError `not_found` */
  revoke(id: string): Promise<void>;
  /** The active token a bearer value belongs to (and records its use), or null. */
  authenticate(bearer: string): Promise<ApiTokenInfo | null>;
  /** Makes sure an active token with exactly this value exists (BOOTSTRAP_API_TOKEN). Idempotent. */
  ensureBootstrap(token: string): Promise<ApiTokenInfo>;
}

type Row = Database['api_tokens'];
const present = (r: Row): ApiTokenInfo => ({
  id: r.id,
  name: r.name,
  last4: r.last4,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** How long a token lookup is reused: a revocation reaches every other instance within this. */
export const API_TOKEN_CACHE_MS = 1_000;
/** `last_used_at` is written at most this often per token (a read request writes nothing otherwise). */
export const LAST_USED_EVERY_MS = 60_000;

/**
 * Staff API tokens on the `api_tokens` table.
 *
 * `authenticate` runs on every API call, so it is kept off the database: an active token's row is
 * cached for `cacheMs` (1 s; revoking on this instance drops it at once, another instance honours a
 * revocation within 1 s), calls that arrive while a token is being read wait for that one read
 * instead of each sending their own, and `last_used_at` is written at most once per
 * `lastUsedEveryMs` (1 min) per token across all instances (a guarded UPDATE; a failure is reported
 * to `onError`, never to the caller).
 */
export function createApiTokens(deps: { db: Kysely<Database>; clock: () => Date; cacheMs?: number; lastUsedEveryMs?: number; onError?: (err: unknown) => void }): ApiTokens {
  const { db, clock } = deps;
  const cacheMs = deps.cacheMs ?? API_TOKEN_CACHE_MS;
  const lastUsedEveryMs = deps.lastUsedEveryMs ?? LAST_USED_EVERY_MS;
  /** token hash → the row as last read, and when. Bounded: entries expire after cacheMs. */
  const cache = new Map<string, { row: Row; at: number }>();
  /** token hash → the read in flight: concurrent calls with one token share it. */
  const reading = new Map<string, Promise<Row | undefined>>();
  /** Counts revocations on this instance: a read that started before one is not cached. */
  let revocations = 0;
  const lastUsedWrites = new Map<string, number>();

  /** The active token's row (cached for `cacheMs` from `now`), or undefined; one read per hash at a time. */
  function readActive(hash: string, now: Date): Promise<Row | undefined> {
    let read = reading.get(hash);
    if (read === undefined) {
      const revocationsBefore = revocations;
      read = db
        .selectFrom('api_tokens')
        .selectAll()
        .where('token_hash', '=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
        .then((row) => {
          if (row && revocationsBefore === revocations) {
            if (cache.size > 10_000) cache.clear(); // a bound; live tokens are re-read on their next call
            cache.set(hash, { row, at: now.getTime() });
          } else {
            cache.delete(hash);
          }
          return row;
        })
        .finally(() => reading.delete(hash));
      reading.set(hash, read);
    }
    return read;
  }

  async function recordUse(row: Row, now: Date): Promise<void> {
    const last = Math.max(row.last_used_at ? Date.parse(row.last_used_at) : 0, lastUsedWrites.get(row.id) ?? 0);
    if (now.getTime() - last < lastUsedEveryMs) return;
    lastUsedWrites.set(row.id, now.getTime());
    const threshold = new Date(now.getTime() - lastUsedEveryMs).toISOString();
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', threshold)]))
      .execute()
      .catch((err: unknown) => deps.onError?.(err));
  }

  async function insert(token: string, name: string, createdBy: string | null): Promise<ApiTokenInfo> {
    const row: Row = {
      id: randomUUID(),
      name,
      token_hash: hashApiToken(token),
      last4: token.slice(-4),
      created_by: createdBy,
      created_at: clock().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await db.insertInto('api_tokens').values(row).execute();
    return present(row);
  }

  return {
    async create({ name, createdBy = null }) {
      const trimmed = name.trim();
      if (!trimmed) throw invalid('name', 'is required', 'Name the token after what will use it, e.g. "exam-sync job".');
      if (trimmed.length > 100) throw invalid('name', 'must be at most 100 characters');
      const token = `cc_${randomToken(32)}`;
      return { token, info: await insert(token, trimmed, createdBy) };
    },
    async list() {
      const rows = await db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
      return rows.map(present);
    },
    async revoke(id) {
      revocations++;
      for (const [hash, entry] of cache) if (entry.row.id === id) cache.delete(hash);
      const res = await db
        .updateTable('api_tokens')
        .set({ revoked_at: clock().toISOString() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      revocations++;
      for (const [hash, entry] of cache) if (entry.row.id === id) cache.delete(hash);
      if (Number(res.numUpdatedRows) === 0) {
        const exists = await db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
        if (!exists) throw new AppError('not_found', `No API token ${id}.`);
      }
    },
    async authenticate(bearer) {
      if (!bearer) return null;
      const hash = hashApiToken(bearer);
      const now = clock();
      const hit = cache.get(hash);
      const row = hit && now.getTime() - hit.at < cacheMs ? hit.row : await readActive(hash, now);
      if (!row) return null;
      await recordUse(row, now);
      const lastUsed = Math.max(row.last_used_at ? Date.parse(row.last_used_at) : 0, lastUsedWrites.get(row.id) ?? 0);
      return present({ ...row, last_used_at: lastUsed ? new Date(lastUsed).toISOString() : null });
    },
    async ensureBootstrap(token) {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashApiToken(token)).executeTakeFirst();
      if (!row) {
        try {
          return await insert(token, 'bootstrap (BOOTSTRAP_API_TOKEN)', null);
        } catch (err) {
          // Another instance inserted it at the same moment (unique token_hash): use theirs.
          const again = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashApiToken(token)).executeTakeFirst();
          if (again) return present(again);
          throw err;
        }
      }
      // The environment says this token exists: a revoked bootstrap token is re-activated on start.
      if (row.revoked_at) await db.updateTable('api_tokens').set({ revoked_at: null }).where('id', '=', row.id).execute();
      return present({ ...row, revoked_at: null });
    },
  };
}
