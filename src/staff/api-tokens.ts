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

/** Staff API tokens on the `api_tokens` table. */
export function createApiTokens(deps: { db: Kysely<Database>; clock: () => Date }): ApiTokens {
  const { db, clock } = deps;

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
      const res = await db
        .updateTable('api_tokens')
        .set({ revoked_at: clock().toISOString() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) {
        const exists = await db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
        if (!exists) throw new AppError('not_found', `No API token ${id}.`);
      }
    },
    async authenticate(bearer) {
      if (!bearer) return null;
      const row = await db
        .selectFrom('api_tokens')
        .selectAll()
        .where('token_hash', '=', hashApiToken(bearer))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return null;
      const now = clock().toISOString();
      await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
      return present({ ...row, last_used_at: now });
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
