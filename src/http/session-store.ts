import { createHash } from 'node:crypto';
import session from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { Kysely } from 'kysely';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { createSessionRows, type SessionRows } from '../store/session-rows.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * express-session store on the `sessions` table (used on SQLite). Written here because the npm
 * SQLite stores start timers that cannot be stopped (better-sqlite3-session-store's
 * never-unref'd setInterval keeps jest from exiting); this one's prune timer is
 * unref'd and {@link KyselySessionStore.close} stops it. The SQL lives in store/session-rows.ts;
 * this class only adapts it to express-session's callback interface.
 */
export class KyselySessionStore extends session.Store {
  private timer: NodeJS.Timeout | undefined;
  private readonly rows: SessionRows;

  constructor(
    db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
    pruneEveryMs = 15 * 60 * 1000,
  ) {
    super();
    this.rows = createSessionRows(db);
    if (pruneEveryMs > 0) {
      this.timer = setInterval(() => void this.prune().catch(() => undefined), pruneEveryMs);
      this.timer.unref();
    }
  }

  private expiry(sess: session.SessionData): string {
    const exp = sess.cookie?.expires ? new Date(sess.cookie.expires) : new Date(this.clock().getTime() + DAY_MS);
    return exp.toISOString();
  }

  override get(sid: string, cb: (err: unknown, sess?: session.SessionData | null) => void): void {
    this.rows
      .get(sid, this.clock())
      .then((json) => cb(null, json === undefined ? null : (JSON.parse(json) as session.SessionData)))
      .catch((err) => cb(err));
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.rows
      .upsert({ sid, sess: JSON.stringify(sess), expiresAt: this.expiry(sess) })
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.rows
      .delete(sid)
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }

  override touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.rows
      .touch(sid, this.expiry(sess))
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }

  /** Deletes expired sessions; returns how many. */
  prune(): Promise<number> {
    return this.rows.prune(this.clock());
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A session store that can be closed (its timers stopped) at shutdown. */
export type ClosableSessionStore = session.Store & { close(): void | Promise<void> };

/** SHA-256 of a session id: the id is a bearer secret, so only its hash is stored. */
export function hashSid(sid: string): string {
  return createHash('sha256').update(sid, 'utf8').digest('base64url');
}

/** How often an unchanged session's expiry is written at most (sliding expiry without a write per request). */
export const SESSION_TOUCH_EVERY_MS = 5 * 60 * 1000;

const LOADED_EXPIRES = Symbol('loadedExpires');

/**
 * Wraps a store so rows are keyed by {@link hashSid}: someone who reads the database cannot
 * replay a session cookie. express-session's own regenerate/load go through these methods.
 *
 * It also keeps reads free of writes: express-session touches every unchanged session at the end
 * of every request (with `rolling`, to slide its expiry), which would be one database write per
 * page view or poll. Here a touch writes only when the expiry moved by at least `touchEveryMs`
 * since the session row was last written (known from the loaded session), so an active session is
 * written at most once per `touchEveryMs` across all instances; its idle timeout is then between
 * maxAge − touchEveryMs and maxAge.
 */
export class HashedSidStore extends session.Store {
  constructor(
    private readonly inner: ClosableSessionStore,
    private readonly touchEveryMs = SESSION_TOUCH_EVERY_MS,
  ) {
    super();
  }
  override get(sid: string, cb: (err: unknown, sess?: session.SessionData | null) => void): void {
    this.inner.get(hashSid(sid), cb);
  }
  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.inner.set(hashSid(sid), sess, cb);
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.inner.destroy(hashSid(sid), cb);
  }
  override createSession(req: Parameters<session.Store['createSession']>[0], data: session.SessionData): session.Session & session.SessionData {
    const stored = data.cookie?.expires ? new Date(data.cookie.expires as unknown as string).getTime() : undefined;
    const created = super.createSession(req, data);
    Object.defineProperty(created, LOADED_EXPIRES, { value: stored, enumerable: false });
    return created;
  }
  override touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    const stored = (sess as { [LOADED_EXPIRES]?: number })[LOADED_EXPIRES];
    const next = sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : undefined;
    if (stored !== undefined && next !== undefined && next - stored < this.touchEveryMs) {
      cb?.();
      return;
    }
    // A full write, so the stored session's own expiry records when the row was last written.
    this.inner.set(hashSid(sid), sess, () => cb?.());
  }
  close(): void | Promise<void> {
    return this.inner.close();
  }
}

/**
 * The session store for this database: connect-pg-simple on Postgres (its own `http_sessions`
 * table, created if missing), {@link KyselySessionStore} on SQLite; both keyed by hashed ids.
 */
export function createSessionStore(store: Store, clock: () => Date = () => new Date()): ClosableSessionStore {
  if (store.dialect === 'postgres' && store.pgPool) {
    const PgStore = connectPgSimple(session);
    return new HashedSidStore(new PgStore({ pool: store.pgPool, tableName: 'http_sessions', createTableIfMissing: false }) as ClosableSessionStore);
  }
  return new HashedSidStore(new KyselySessionStore(store.db, clock));
}
