import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One row of the `sessions` table as the session store reads and writes it. */
export interface SessionRow {
  /** The session id as stored (already hashed by the caller). */
  sid: string;
  /** The session data, JSON-encoded. */
  sess: string;
  /** ISO time after which the row is no longer a session. */
  expiresAt: string;
}

/** SQL for the `sessions` table; the express-session adapter in http/ calls these. */
export interface SessionRows {
  /** The session's JSON, or undefined when there is none or it expired before `now`. */
  get(sid: string, now: Date): Promise<string | undefined>;
  upsert(row: SessionRow): Promise<void>;
  delete(sid: string): Promise<void>;
  touch(sid: string, expiresAt: string): Promise<void>;
  /** Deletes sessions expired at `now`; returns how many. */
  prune(now: Date): Promise<number>;
}

/** {@link SessionRows} over Kysely (SQLite and Postgres alike). */
export function createSessionRows(db: Kysely<Database>): SessionRows {
  return {
    async get(sid, now) {
      const row = await db.selectFrom('sessions').select(['sess', 'expires_at']).where('sid', '=', sid).executeTakeFirst();
      return row && row.expires_at > now.toISOString() ? row.sess : undefined;
    },
    async upsert({ sid, sess, expiresAt }) {
      await db
        .insertInto('sessions')
        .values({ sid, sess, expires_at: expiresAt })
        .onConflict((oc) => oc.column('sid').doUpdateSet({ sess, expires_at: expiresAt }))
        .execute();
    },
    async delete(sid) {
      await db.deleteFrom('sessions').where('sid', '=', sid).execute();
    },
    async touch(sid, expiresAt) {
      await db.updateTable('sessions').set({ expires_at: expiresAt }).where('sid', '=', sid).execute();
    },
    async prune(now) {
      const res = await db.deleteFrom('sessions').where('expires_at', '<=', now.toISOString()).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
