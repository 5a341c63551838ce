import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import session from 'express-session';
import { createAuditLog } from '../../../src/audit/audit-log.js';
import { AppError } from '../../../src/errors/app-error.js';
import { createSessionStore, KyselySessionStore } from '../../../src/http/session-store.js';
import { API_TOKEN_CACHE_MS, createApiTokens } from '../../../src/staff/api-tokens.js';
import { createStaffUsers } from '../../../src/staff/staff-users.js';
import { hashApiToken } from '../../../src/vault/vault.js';
import { testDatabases } from '../../support/databases.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof AppError ? err.code : 'not-an-app-error';
  }
  return undefined;
}

describe.each(testDatabases())('staff repositories on $name', (tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  let now = new Date('2026-11-26T10:00:00.000Z');
  const clock = () => now;

  beforeAll(async () => {
    store = await tdb.open();
  });
  afterAll(async () => {
    await store.close();
  });

  describe('staff users', () => {
    it('creates a user whose password verifies, case-insensitively by email, and stores only a scrypt hash', async () => {
      const staff = createStaffUsers({ db: store.db, clock });
      const u = await staff.create({ email: 'Ada@Example.edu', name: 'Ada', password: 'correct horse battery' });
      expect(u.email).toBe('ada@example.edu');
      expect((await staff.verifyPassword('ADA@example.edu', 'correct horse battery'))?.id).toBe(u.id);
      const row = await store.db.selectFrom('staff_users').select('password_hash').where('id', '=', u.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$/);
      expect(row.password_hash).not.toContain('correct horse');
    });

    it('rejects a wrong password and an unknown email', async () => {
      const staff = createStaffUsers({ db: store.db, clock });
      expect(await staff.verifyPassword('ada@example.edu', 'wrong password!!')).toBeNull();
      expect(await staff.verifyPassword('nobody@example.edu', 'correct horse battery')).toBeNull();
    });

    it('refuses a duplicate email, a short password and a bad email', async () => {
      const staff = createStaffUsers({ db: store.db, clock });
      expect(await codeOf(staff.create({ email: 'ada@example.edu', name: 'Ada 2', password: 'another long one' }))).toBe('conflict');
      expect(await codeOf(staff.create({ email: 'bob@example.edu', name: 'Bob', password: 'short' }))).toBe('validation_failed');
      expect(await codeOf(staff.create({ email: 'not-an-email', name: 'Bob', password: 'long enough pass' }))).toBe('validation_failed');
    });

    it('lists users, and a disabled user can no longer sign in', async () => {
      const staff = createStaffUsers({ db: store.db, clock });
      const bob = await staff.create({ email: 'bob@example.edu', name: 'Bob', password: 'robert passphrase 123' });
      expect((await staff.list()).map((u) => u.email)).toEqual(['ada@example.edu', 'bob@example.edu']);
      await staff.disable(bob.id);
      expect(await staff.verifyPassword('bob@example.edu', 'robert passphrase 123')).toBeNull();
      expect((await staff.get(bob.id))?.disabledAt).toBe(now.toISOString());
      expect(await codeOf(staff.disable('no-such-id'))).toBe('not_found');
    });

    it('ensure creates a user once, and on a re-run re-enables them with the new password', async () => {
      const staff = createStaffUsers({ db: store.db, clock });
      const first = await staff.ensure({ email: 'demo@example.edu', name: 'Demo', password: 'first passphrase 1' });
      await staff.disable(first.id);
      const again = await staff.ensure({ email: 'Demo@example.edu', name: 'Demo Staff', password: 'second passphrase 2' });
      expect(again.id).toBe(first.id);
      expect(again.disabledAt).toBeNull();
      expect(await staff.verifyPassword('demo@example.edu', 'first passphrase 1')).toBeNull();
      expect((await staff.verifyPassword('demo@example.edu', 'second passphrase 2'))?.name).toBe('Demo Staff');
    });
  });

  describe('API tokens', () => {
    it('creates a cc_ token shown once and stores only its hash', async () => {
      const tokens = createApiTokens({ db: store.db, clock });
      const { token, info } = await tokens.create({ name: 'ci', createdBy: 'staff:1' });
      expect(token).toMatch(/^cc_[A-Za-z0-9_-]{43}$/);
      expect(info.last4).toBe(token.slice(-4));
      const rows = await store.db.selectFrom('api_tokens').selectAll().where('id', '=', info.id).execute();
      expect(rows[0]?.token_hash).toBe(hashApiToken(token));
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(JSON.stringify(await tokens.list())).not.toContain(token);
    });

    it('authenticates a valid token and records when it was last used', async () => {
      const tokens = createApiTokens({ db: store.db, clock });
      const { token, info } = await tokens.create({ name: 'sync' });
      now = new Date('2026-11-26T11:00:00.000Z');
      expect((await tokens.authenticate(token))?.id).toBe(info.id);
      const listed = (await tokens.list()).find((t) => t.id === info.id);
      expect(listed?.lastUsedAt).toBe('2026-11-26T11:00:00.000Z');
      expect(await tokens.authenticate(`${token}x`)).toBeNull();
      expect(await tokens.authenticate('')).toBeNull();
    });

    it('writes last_used_at at most once a minute per token, not on every call', async () => {
      const tokens = createApiTokens({ db: store.db, clock });
      const { token, info } = await tokens.create({ name: 'poller' });
      const stored = async () => (await store.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', info.id).executeTakeFirst())?.last_used_at;
      now = new Date('2026-11-26T13:00:00.000Z');
      await tokens.authenticate(token);
      expect(await stored()).toBe('2026-11-26T13:00:00.000Z');
      now = new Date('2026-11-26T13:00:59.000Z');
      await tokens.authenticate(token);
      // Another instance (its own cache) within the same minute does not write either.
      await createApiTokens({ db: store.db, clock }).authenticate(token);
      expect(await stored()).toBe('2026-11-26T13:00:00.000Z');
      now = new Date('2026-11-26T13:01:00.000Z');
      await tokens.authenticate(token);
      expect(await stored()).toBe('2026-11-26T13:01:00.000Z');
    });

    it('a lookup is reused for 1 s: a revocation elsewhere is honoured within 1 s, and at once on the revoking instance', async () => {
      expect(API_TOKEN_CACHE_MS).toBe(1_000);
      const here = createApiTokens({ db: store.db, clock });
      const elsewhere = createApiTokens({ db: store.db, clock });
      const { token, info } = await here.create({ name: 'cached' });
      now = new Date('2026-11-26T14:00:00.000Z');
      expect((await here.authenticate(token))?.id).toBe(info.id);
      expect((await elsewhere.authenticate(token))?.id).toBe(info.id);
      await here.revoke(info.id);
      expect(await here.authenticate(token)).toBeNull();
      now = new Date('2026-11-26T14:00:00.999Z');
      expect((await elsewhere.authenticate(token))?.id).toBe(info.id); // still within the 1 s bound
      now = new Date('2026-11-26T14:00:01.000Z');
      expect(await elsewhere.authenticate(token)).toBeNull();
    });

    it('calls that arrive while a token is being read share that one read', async () => {
      const reads = { n: 0 };
      const counted = store.db.withPlugin({
        transformQuery: (args) => {
          if (args.node.kind === 'SelectQueryNode') reads.n++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      });
      const tokens = createApiTokens({ db: counted, clock });
      const { token, info } = await tokens.create({ name: 'burst' });
      now = new Date('2026-11-26T15:00:00.000Z');
      const burst = await Promise.all(Array.from({ length: 20 }, () => tokens.authenticate(token)));
      expect(burst.map((t) => t?.id)).toEqual(Array(20).fill(info.id));
      expect(reads.n).toBe(1);
      // Expired: the next burst reads once more; an unknown token is read once per burst as well.
      now = new Date('2026-11-26T15:00:01.000Z');
      await Promise.all(Array.from({ length: 20 }, () => tokens.authenticate(token)));
      expect(reads.n).toBe(2);
      expect(await Promise.all(Array.from({ length: 5 }, () => tokens.authenticate(`${token}x`)))).toEqual(Array(5).fill(null));
      expect(reads.n).toBe(3);
    });

    // Postgres only (not defined on SQLite): SQLite's one connection is held until a read's answer
    // is handed over, so a revoke cannot run while a read is held back there (and cannot overtake one).
    const onPostgres = tdb.name === 'postgres' ? it : () => undefined;
    onPostgres('a read that was in flight while this instance revoked the token is not cached', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let held: unknown;
      // Holds back the answer of the first SELECT only (the token read); everything else runs as usual.
      const slow = store.db.withPlugin({
        transformQuery: (args) => {
          if (held === undefined && args.node.kind === 'SelectQueryNode') held = args.queryId;
          return args.node;
        },
        transformResult: async (args) => {
          if (args.queryId === held) await gate;
          return args.result;
        },
      });
      const tokens = createApiTokens({ db: store.db, clock });
      const { token, info } = await tokens.create({ name: 'racing' });
      const racing = createApiTokens({ db: slow, clock });
      now = new Date('2026-11-26T16:00:00.000Z');
      const inFlight = racing.authenticate(token); // reads the still-active row; its answer is held back
      await new Promise((r) => setTimeout(r, 50));
      await racing.revoke(info.id);
      release();
      expect((await inFlight)?.id).toBe(info.id); // it was active when it was read
      expect(await racing.authenticate(token)).toBeNull(); // but that row was not kept
    });

    it('a revoked token no longer authenticates; revoking an unknown id is not_found', async () => {
      const tokens = createApiTokens({ db: store.db, clock });
      const { token, info } = await tokens.create({ name: 'temp' });
      await tokens.revoke(info.id);
      expect(await tokens.authenticate(token)).toBeNull();
      await tokens.revoke(info.id); // idempotent
      expect(await codeOf(tokens.revoke('nope'))).toBe('not_found');
      expect(await codeOf(tokens.create({ name: '  ' }))).toBe('validation_failed');
    });

    it('ensureBootstrap makes exactly one active token with the given value, even after a revoke', async () => {
      const tokens = createApiTokens({ db: store.db, clock });
      const value = 'bootstrap-token-value-0123456789';
      const a = await tokens.ensureBootstrap(value);
      const b = await tokens.ensureBootstrap(value);
      expect(b.id).toBe(a.id);
      await tokens.revoke(a.id);
      await tokens.ensureBootstrap(value);
      expect((await tokens.authenticate(value))?.id).toBe(a.id);
      expect((await tokens.list()).filter((t) => t.last4 === value.slice(-4))).toHaveLength(1);
    });
  });

  describe('audit log', () => {
    it('records events and lists them newest first per integration', async () => {
      const audit = createAuditLog({ db: store.db, clock });
      now = new Date('2026-11-26T12:00:00.000Z');
      await audit.record({ integrationId: 'int-1', actor: 'staff:1', action: 'integration.created', detail: { name: 'Uni' } });
      now = new Date('2026-11-26T12:01:00.000Z');
      await audit.record({ integrationId: 'int-1', actor: 'api-token:2', action: 'preflight.run' });
      await audit.record({ integrationId: 'int-2', actor: 'system', action: 'other' });
      await audit.record({ actor: 'staff:1', action: 'staff.login' });
      const events = await audit.list('int-1');
      expect(events.map((e) => e.action)).toEqual(['preflight.run', 'integration.created']);
      expect(events[1]).toMatchObject({ actor: 'staff:1', detail: { name: 'Uni' }, integrationId: 'int-1' });
      expect((await audit.list(null)).map((e) => e.action)).toEqual(['staff.login']);
      expect(await audit.list('int-1', 1)).toHaveLength(1);
    });
  });

  describe('session store', () => {
    const call = <T>(fn: (cb: (err: unknown, v?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
    const data = (expires: Date) =>
      ({ cookie: { expires, originalMaxAge: 1000 }, staff: { id: 's1', email: 'a@b.c', name: 'A' } }) as unknown as session.SessionData;

    it('stores, reads, touches and destroys a session; an expired one reads as missing', async () => {
      const s = createSessionStore(store, clock);
      try {
        // Real time: connect-pg-simple compares expiry with the database clock.
        now = new Date();
        await call((cb) => s.set('sid-1', data(new Date(Date.now() + 3_600_000)), cb));
        const got = await call<session.SessionData | null>((cb) => s.get('sid-1', cb));
        expect(got?.staff?.id).toBe('s1');
        await call((cb) => s.set('sid-2', data(new Date(Date.now() - 3_600_000)), cb));
        expect(await call((cb) => s.get('sid-2', cb))).toBeFalsy();
        if (tdb.name === 'sqlite') expect(await new KyselySessionStore(store.db, clock, 0).prune()).toBe(1);
        await call((cb) => s.destroy('sid-1', cb));
        expect(await call((cb) => s.get('sid-1', cb))).toBeFalsy();
      } finally {
        await s.close();
      }
    });
  });
});
