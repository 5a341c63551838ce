import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Logger } from '../logger/logger.js';
import type { Dialect } from '../store/database.js';
import type { Database } from '../store/schema.js';

/** One stored record as ltijs hands it over and gets it back. */
type Item = Record<string, unknown>;
type Row = { doc: string; created_at: string; expires_at: string | null } & Record<string, string | null>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables are addressed by name, per collection
type AnyDb = Kysely<any>;

interface Collection {
  table: string;
  /** ltijs field -> column, for every field ltijs looks records of this collection up by. */
  columns: Record<string, string>;
  /** Unique keys as ltijs fields; the first one is the primary key. A `Replace` by one of them is an upsert. */
  keys: string[][];
  /** How long a record is returned after it was written (ltijs's Mongo TTLs); absent: forever. */
  ttlSeconds?: number;
}

/**
 * ltijs 5.9's collections and the table each lives in (created by migration 0005-lti-store).
 * Nonces are kept for 10 minutes rather than ltijs's 10 s: the provider accepts id_tokens up to
 * 60 s old, so a nonce must outlive that window or a replay inside it would pass the nonce check.
 */
export const LTI_COLLECTIONS: Record<string, Collection> = {
  platform: { table: 'lti_platforms', columns: { platformUrl: 'platform_url', clientId: 'client_id', kid: 'kid' }, keys: [['platformUrl', 'clientId'], ['kid']] },
  platformStatus: { table: 'lti_platform_statuses', columns: { id: 'id' }, keys: [['id']] },
  publickey: { table: 'lti_public_keys', columns: { kid: 'kid', platformUrl: 'platform_url', clientId: 'client_id' }, keys: [['kid'], ['platformUrl', 'clientId']] },
  privatekey: { table: 'lti_private_keys', columns: { kid: 'kid', platformUrl: 'platform_url', clientId: 'client_id' }, keys: [['kid'], ['platformUrl', 'clientId']] },
  accesstoken: { table: 'lti_access_tokens', columns: { platformUrl: 'platform_url', clientId: 'client_id', scopes: 'scopes' }, keys: [['platformUrl', 'clientId', 'scopes']], ttlSeconds: 3600 },
  nonce: { table: 'lti_nonces', columns: { nonce: 'nonce' }, keys: [['nonce']], ttlSeconds: 600 },
  state: { table: 'lti_states', columns: { state: 'state' }, keys: [['state']], ttlSeconds: 600 },
  idtoken: { table: 'lti_id_tokens', columns: { iss: 'iss', clientId: 'client_id', deploymentId: 'deployment_id', user: 'user_sub' }, keys: [['iss', 'clientId', 'deploymentId', 'user']], ttlSeconds: 24 * 3600 },
  contexttoken: { table: 'lti_context_tokens', columns: { contextId: 'context_id', user: 'user_sub' }, keys: [['contextId', 'user']], ttlSeconds: 24 * 3600 },
};

/** Any number: it only has to differ from other advisory locks taken on the same database. */
const PLATFORM_LOCK_ID = 72_615_304_417;

export interface KyselyLtiDatabaseOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it to check expiry. */
  now?: () => number;
  /** How often expired records are deleted (default 15 minutes). */
  cleanupEveryMs?: number;
}

/**
 * ltijs 5.9 database plugin over the service's own Kysely store (SQLite or Postgres), replacing the
 * Mongo default. ltijs calls `setup`, `Get`, `Insert`, `Replace`, `Modify`, `Delete` and `Close`;
 * items it encrypts (key pairs, access tokens) arrive as `{ ...index, iv, data }` and are decrypted
 * here with ltijs's own scheme (AES-256-CBC under SHA-256 of its encryption key), so the stored
 * format stays ltijs's.
 *
 * `setup` creates nothing and cannot fail: the tables come from the migrations. That matters because
 * ltijs answers a failing `setup` with `process.exit()`.
 */
export class KyselyLtiDatabase {
  private readonly db: AnyDb;
  private readonly dialect: Dialect;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly cleanupEveryMs: number;
  private deployed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: KyselyLtiDatabaseOptions) {
    this.db = opts.db as AnyDb;
    this.dialect = opts.dialect;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.cleanupEveryMs = opts.cleanupEveryMs ?? 15 * 60 * 1000;
  }

  /**
   * Fails with the database's own error when a table is missing (migrations not run) or the
   * database does not answer. Call before handing the plugin to ltijs.
   * @throws Error naming the missing table.
   */
  async checkTables(): Promise<void> {
    for (const c of Object.values(LTI_COLLECTIONS)) {
      try {
        await this.db.selectFrom(c.table).select(sql<number>`1`.as('one')).limit(1).execute();
      } catch (err) {
        throw new Error(`LTI store: table ${c.table} is not usable (have the migrations run?): ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Called by ltijs: starts the expiry clean-up (unref'd). Never throws. */
  async setup(): Promise<true> {
    this.deployed = true;
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.cleanup().catch((err: unknown) => this.logger.warn({ err }, 'LTI store: deleting expired records failed'));
      }, this.cleanupEveryMs);
      this.timer.unref();
    }
    return true;
  }

  /** Called by ltijs's `close()`: stops the clean-up. The store itself belongs to the container. */
  async Close(): Promise<true> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.deployed = false;
    return true;
  }

  /**
   * Records of `collection` matching every field of `query` (all records without one), decrypted
   * when `encryptionKey` is given; `false` when none. Expired records are never returned.
   * @throws Error when `query` names a field that is not a column, or a field without a value.
   */
  async Get(encryptionKey: string | false, collection: string, query?: Item): Promise<Item[] | false> {
    this.assertDeployed();
    const c = collectionOf(collection);
    let q = this.db.selectFrom(c.table).selectAll();
    q = this.matching(q, c, query ?? {});
    if (c.ttlSeconds) q = q.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.iso(0))]));
    const rows = (await q.orderBy('created_at').execute()) as Row[];
    if (rows.length === 0) return false;
    return Promise.all(rows.map((r) => this.toItem(c, r, encryptionKey)));
  }

  /** Adds a record. A duplicate key (e.g. a nonce seen twice) fails with the database's error. */
  async Insert(encryptionKey: string | false, collection: string, item: Item, index?: Item): Promise<true> {
    this.assertDeployed();
    if (!collection || !item || (encryptionKey && !index)) throw new Error('MISSING_PARAMS');
    const c = collectionOf(collection);
    await this.db.insertInto(c.table).values(this.toRow(c, await this.stored(encryptionKey, item, index))).execute();
    return true;
  }

  /**
   * Replaces the records matching `query` with `item` (ltijs's upsert). When `query` is one of the
   * collection's unique keys and `item` keeps its values, this is one atomic `INSERT … ON CONFLICT
   * DO UPDATE`, so instances replacing the same record at once do not collide; otherwise the
   * matching records are deleted and the item inserted in one transaction.
   */
  async Replace(encryptionKey: string | false, collection: string, query: Item, item: Item, index?: Item): Promise<true> {
    this.assertDeployed();
    // Without a query the fallback below would delete the whole collection: refuse instead.
    if (!collection || !query || !item || (encryptionKey && !index)) throw new Error('MISSING_PARAMS');
    const c = collectionOf(collection);
    const row = this.toRow(c, await this.stored(encryptionKey, item, index));
    const fields = Object.keys(query);
    const key = c.keys.find((k) => k.length === fields.length && k.every((f) => fields.includes(f)));
    if (key && key.every((f) => String(query[f]) === row[keyColumn(c, f)])) {
      const target = key.map((f) => keyColumn(c, f));
      const update = Object.fromEntries(Object.keys(row).filter((col) => !target.includes(col)).map((col) => [col, row[col]]));
      await this.db
        .insertInto(c.table)
        .values(row)
        .onConflict((oc) => oc.columns(target).doUpdateSet(update))
        .execute();
      return true;
    }
    await this.db.transaction().execute(async (trx) => {
      await this.matching(trx.deleteFrom(c.table), c, query).execute();
      await trx.insertInto(c.table).values(row).execute();
    });
    return true;
  }

  /**
   * Sets the fields of `modification` on every record matching `query` (re-encrypting the record
   * when `encryptionKey` is given). Fields left `undefined` are not changed. Expiry is not renewed.
   */
  async Modify(encryptionKey: string | false, collection: string, query: Item, modification: Item): Promise<true> {
    this.assertDeployed();
    if (!collection || !query || !modification) throw new Error('MISSING_PARAMS');
    const c = collectionOf(collection);
    const changes = Object.entries(modification).filter(([, v]) => v !== undefined);
    await this.db.transaction().execute(async (trx) => {
      const rows = (await this.matching(trx.selectFrom(c.table).selectAll(), c, query).execute()) as Row[];
      for (const row of rows) {
        const doc = JSON.parse(row.doc) as Item;
        const set: Record<string, string> = {};
        let next: Item = doc;
        if (encryptionKey) {
          const item = JSON.parse(decrypt(String(doc.data), String(doc.iv), encryptionKey)) as Item;
          for (const [f, v] of changes) item[f] = v;
          next = encrypt(JSON.stringify(item), encryptionKey);
        } else {
          for (const [f, v] of changes) {
            const col = columnOf(c, f);
            if (col !== undefined) set[col] = columnValue(collection, f, v);
            else next[f] = v;
          }
        }
        set.doc = JSON.stringify(next);
        let u = trx.updateTable(c.table).set(set);
        for (const f of primaryKey(c)) u = u.where(keyColumn(c, f), '=', row[keyColumn(c, f)]);
        await u.execute();
      }
    });
    return true;
  }

  /** Deletes the records matching `query` (every record of the collection for `{}`). */
  async Delete(collection: string, query: Item): Promise<true> {
    this.assertDeployed();
    if (!collection || !query) throw new Error('MISSING_PARAMS');
    const c = collectionOf(collection);
    await this.matching(this.db.deleteFrom(c.table), c, query).execute();
    return true;
  }

  /** ltijs's encryption: AES-256-CBC under SHA-256 of `secret`, hex `iv` and `data`. */
  async Encrypt(data: string, secret: string): Promise<{ iv: string; data: string }> {
    return encrypt(data, secret);
  }

  /** Inverse of {@link Encrypt}. @throws Error when `secret` is not the key the data was encrypted with. */
  async Decrypt(data: string, iv: string, secret: string): Promise<string> {
    return decrypt(data, iv, secret);
  }

  /** Deletes every expired record; returns how many per collection. */
  async cleanup(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    const now = this.iso(0);
    for (const [name, c] of Object.entries(LTI_COLLECTIONS)) {
      if (!c.ttlSeconds) continue;
      const r = await this.db.deleteFrom(c.table).where('expires_at', '<=', now).executeTakeFirst();
      deleted[name] = Number(r.numDeletedRows);
    }
    return deleted;
  }

  /**
   * Runs `fn` while holding a database-wide lock on the platform list (a Postgres advisory lock on
   * its own connection), so instances sharing the database register, replace and remove platforms
   * one at a time: ltijs's registerPlatform is check-then-write across three collections. On SQLite
   * (one instance per file) it just runs `fn`; callers serialise within the process.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dialect !== 'postgres') return fn();
    return this.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${sql.lit(PLATFORM_LOCK_ID)})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(PLATFORM_LOCK_ID)})`.execute(conn);
      }
    });
  }

  private assertDeployed(): void {
    if (!this.deployed) throw new Error('PROVIDER_NOT_DEPLOYED');
  }

  private iso(plusSeconds: number): string {
    return new Date(this.now() + plusSeconds * 1000).toISOString();
  }

  private async stored(encryptionKey: string | false, item: Item, index: Item | undefined): Promise<Item> {
    return encryptionKey ? { ...index, ...encrypt(JSON.stringify(item), encryptionKey) } : item;
  }

  private toRow(c: Collection, data: Item): Row {
    const row: Record<string, string | null> = {};
    const doc: Item = {};
    const name = nameOf(c);
    for (const [f, v] of Object.entries(data)) {
      const col = columnOf(c, f);
      if (col !== undefined) row[col] = columnValue(name, f, v);
      else doc[f] = v;
    }
    for (const [f, col] of Object.entries(c.columns)) {
      if (row[col] === undefined) throw new Error(`LTI store: ${name}.${f} is required`);
    }
    return { ...row, doc: JSON.stringify(doc), created_at: this.iso(0), expires_at: c.ttlSeconds ? this.iso(c.ttlSeconds) : null } as Row;
  }

  private toItem(c: Collection, row: Row, encryptionKey: string | false): Item {
    const doc = JSON.parse(row.doc) as Item;
    if (encryptionKey) {
      const item = JSON.parse(decrypt(String(doc.data), String(doc.iv), encryptionKey)) as Item;
      if (c.ttlSeconds) item.createdAt = Date.parse(row.created_at);
      return item;
    }
    const item: Item = { ...doc };
    for (const [f, col] of Object.entries(c.columns)) item[f] = row[col];
    if (c.ttlSeconds) item.createdAt = new Date(row.created_at);
    return item;
  }

  /** Adds `column = value` for every field of `query` (a select or a delete; typed loosely on purpose). */
  private matching<QB>(qb: QB, c: Collection, query: Item): QB {
    const name = nameOf(c);
    let q = qb as unknown as SelectQueryBuilder<Record<string, Row>, string, object>;
    for (const [f, v] of Object.entries(query)) {
      const col = c.columns[f];
      if (!col) throw new Error(`LTI store: ${name} cannot be looked up by "${f}" (only by ${Object.keys(c.columns).join(', ')})`);
      if (v === undefined) throw new Error(`LTI store: ${name} looked up by "${f}" without a value`);
      q = v === null ? q.where(col, 'is', null) : q.where(col, '=', columnValue(name, f, v));
    }
    return q as unknown as QB;
  }
}

function nameOf(c: Collection): string {
  return Object.keys(LTI_COLLECTIONS).find((k) => LTI_COLLECTIONS[k] === c) ?? c.table;
}

/** The column a field of `c` is stored in, or `undefined` when the field lives in the JSON document. */
function columnOf(c: Collection, field: string): string | undefined {
  return Object.hasOwn(c.columns, field) ? c.columns[field] : undefined;
}

/** The column of a key field; throws when the collection table maps no column for it (a bug in LTI_COLLECTIONS). */
function keyColumn(c: Collection, field: string): string {
  const col = columnOf(c, field);
  if (col === undefined) throw new Error(`LTI store: ${c.table} has no column for key field "${field}"`);
  return col;
}

/** The fields of the first unique key of `c`; throws when the collection lists no key. */
function primaryKey(c: Collection): string[] {
  const key = c.keys[0];
  if (!key) throw new Error(`LTI store: ${c.table} has no primary key`);
  return key;
}

function collectionOf(name: string): Collection {
  const c = Object.hasOwn(LTI_COLLECTIONS, name) ? LTI_COLLECTIONS[name] : undefined;
  if (!c) throw new Error(`LTI store: unknown collection "${name}"`);
  return c;
}

function columnValue(collection: string, field: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw new Error(`LTI store: ${collection}.${field} must be a string, got ${v === null ? 'null' : typeof v}`);
}

function cipherKey(secret: string): Buffer {
  return createHash('sha256').update(secret).digest().subarray(0, 32);
}

function encrypt(data: string, secret: string): { iv: string; data: string } {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', cipherKey(secret), iv);
  return { iv: iv.toString('hex'), data: Buffer.concat([cipher.update(data, 'utf8'), cipher.final()]).toString('hex') };
}

function decrypt(data: string, iv: string, secret: string): string {
  const decipher = createDecipheriv('aes-256-cbc', cipherKey(secret), Buffer.from(iv, 'hex'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'hex')), decipher.final()]).toString('utf8');
}
