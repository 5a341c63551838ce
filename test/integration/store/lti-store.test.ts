import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { KyselyLtiDatabase, LTI_COLLECTIONS } from '../../../src/lti/kysely-lti-database.js';
import { createLogger } from '../../../src/logger/logger.js';
import type { Store } from '../../../src/store/database.js';
import { testDatabases } from '../../support/databases.js';

const KEY = 'ltijs-encryption-key-for-tests';

/** The ltijs database plugin over the service's store: every method ltijs calls, on every dialect. */
describe.each(testDatabases())('LTI store on $name', (tdb) => {
  let store: Store;
  let plugin: KyselyLtiDatabase;
  let now: number;

  beforeAll(async () => {
    store = await tdb.open();
  });
  afterAll(async () => {
    await store?.close();
  });
  beforeEach(async () => {
    for (const c of Object.values(LTI_COLLECTIONS)) await store.db.deleteFrom(c.table as never).execute();
    now = Date.parse('2026-12-06T12:00:00.000Z');
    plugin = new KyselyLtiDatabase({ db: store.db, dialect: store.dialect, logger: createLogger('silent'), now: () => now });
    await plugin.checkTables();
    await plugin.setup();
  });
  afterEach(async () => {
    await plugin.Close();
  });

  const platform = (over: Record<string, unknown> = {}) => ({
    platformName: 'int-1',
    platformUrl: 'https://canvas.example',
    clientId: '100',
    authEndpoint: 'https://canvas.example/auth',
    accesstokenEndpoint: 'https://canvas.example/token',
    kid: 'kid-1',
    authConfig: { method: 'JWK_SET', key: 'https://canvas.example/jwks' },
    ...over,
  });

  it('the migrations created one table per ltijs collection', async () => {
    const tables = (await store.db.introspection.getTables()).map((t) => t.name);
    for (const c of Object.values(LTI_COLLECTIONS)) expect(tables).toContain(c.table);
  });

  it('Get returns false when nothing matches, and the stored item (columns and JSON fields) when something does', async () => {
    expect(await plugin.Get(false, 'platform', { platformUrl: 'https://canvas.example', clientId: '100' })).toBe(false);
    await plugin.Insert(false, 'platform', platform());
    await plugin.Insert(false, 'platform', platform({ clientId: '200', kid: 'kid-2', platformName: 'int-2' }));

    const one = await plugin.Get(false, 'platform', { platformUrl: 'https://canvas.example', clientId: '200' });
    expect(one).toEqual([platform({ clientId: '200', kid: 'kid-2', platformName: 'int-2' })]);
    expect(await plugin.Get(false, 'platform', { kid: 'kid-1' })).toEqual([platform()]);
    expect(await plugin.Get(false, 'platform', { platformUrl: 'https://canvas.example' })).toHaveLength(2);
    expect(await plugin.Get(false, 'platform')).toHaveLength(2);
    expect(await plugin.Get(false, 'platform', {})).toHaveLength(2);
  });

  it('refuses a lookup by a field that is not a column, or without a value, naming the field', async () => {
    await expect(plugin.Get(false, 'platform', { platformName: 'int-1' })).rejects.toThrow(/platformName/);
    await expect(plugin.Get(false, 'nonce', { nonce: undefined })).rejects.toThrow(/nonce/);
    await expect(plugin.Get(false, 'nosuch', {})).rejects.toThrow(/nosuch/);
  });

  it('Insert refuses a duplicate key (a nonce seen twice), so replays fail even across instances', async () => {
    await plugin.Insert(false, 'nonce', { nonce: 'n-1' });
    // The driver's own error (its class may come from another jest realm, so check its code).
    const err = (await plugin.Insert(false, 'nonce', { nonce: 'n-1' }).then(() => null, (e: unknown) => e)) as { code?: string } | null;
    expect(String(err?.code)).toMatch(/^(SQLITE_CONSTRAINT|23505$)/);
    expect(await plugin.Get(false, 'nonce', { nonce: 'n-1' })).toHaveLength(1);
  });

  it('Replace by the unique key is an upsert: it creates, then replaces the whole item', async () => {
    const q = { iss: 'https://canvas.example', clientId: '100', deploymentId: '1:a', user: 'u-1' };
    await plugin.Replace(false, 'idtoken', q, { ...q, userInfo: { name: 'Ada' }, platformInfo: { guid: 'g' } });
    await plugin.Replace(false, 'idtoken', q, { ...q, userInfo: { name: 'Ada Lovelace' } });
    const got = (await plugin.Get(false, 'idtoken', q)) as Array<Record<string, unknown>>;
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ ...q, userInfo: { name: 'Ada Lovelace' } });
    expect(got[0]?.platformInfo).toBeUndefined();
    expect(got[0]?.createdAt).toBeInstanceOf(Date);
  });

  it('concurrent Replaces of one record leave one record (no unique-key collision)', async () => {
    const q = { contextId: 'ctx', user: 'u-1' };
    await Promise.all(Array.from({ length: 8 }, (_, i) => plugin.Replace(false, 'contexttoken', q, { ...q, path: `/p${i}`, roles: ['r'] })));
    expect(await plugin.Get(false, 'contexttoken', q)).toHaveLength(1);
  });

  it('Replace by a query that is not a unique key deletes what matches and inserts the item; without a query it refuses', async () => {
    await plugin.Insert(false, 'platform', platform());
    await expect(plugin.Replace(false, 'platform', undefined as never, platform({ kid: 'kid-8' }))).rejects.toThrow('MISSING_PARAMS');
    await plugin.Replace(false, 'platform', { kid: 'kid-1' }, platform({ kid: 'kid-9', platformName: 'renamed' }));
    expect(await plugin.Get(false, 'platform', { kid: 'kid-1' })).toBe(false);
    expect(await plugin.Get(false, 'platform', { kid: 'kid-9' })).toEqual([platform({ kid: 'kid-9', platformName: 'renamed' })]);
  });

  it('encrypts what ltijs asks it to (key pairs): only the index is readable, the item comes back decrypted', async () => {
    const index = { kid: 'kid-1', platformUrl: 'https://canvas.example', clientId: '100' };
    const secret = '-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END RSA PRIVATE KEY-----';
    await plugin.Replace(KEY, 'privatekey', { platformUrl: index.platformUrl, clientId: index.clientId }, { key: secret, kid: 'kid-1' }, index);

    const raw = await store.db.selectFrom('lti_private_keys' as never).selectAll().execute();
    expect(JSON.stringify(raw)).not.toContain('secret');
    const plain = (await plugin.Get(false, 'privatekey', { kid: 'kid-1' })) as Array<Record<string, unknown>>;
    expect(plain[0]).toMatchObject(index);
    expect(typeof plain[0]?.iv).toBe('string');
    expect(typeof plain[0]?.data).toBe('string');

    expect(await plugin.Get(KEY, 'privatekey', { kid: 'kid-1' })).toEqual([{ key: secret, kid: 'kid-1' }]);
    await expect(plugin.Get('another key', 'privatekey', { kid: 'kid-1' })).rejects.toThrow();

    // A new key pair for the same platform replaces the old one (ltijs's Replace by platformUrl + clientId).
    await plugin.Replace(KEY, 'privatekey', { platformUrl: index.platformUrl, clientId: index.clientId }, { key: 'k2', kid: 'kid-2' }, { ...index, kid: 'kid-2' });
    expect(await plugin.Get(KEY, 'privatekey', {})).toEqual([{ key: 'k2', kid: 'kid-2' }]);
  });

  it('keeps ltijs’s encryption format: what it encrypts, ltijs’s own Decrypt reads, and the other way round', async () => {
    const ltijsDb = createRequire(import.meta.url)('ltijs/dist/Utils/Database.js') as {
      prototype: { Encrypt(d: string, k: string): Promise<{ iv: string; data: string }>; Decrypt(d: string, iv: string, k: string): Promise<string> };
    };
    const enc = await plugin.Encrypt('hello', KEY);
    expect(enc.iv).toMatch(/^[0-9a-f]{32}$/);
    expect(await ltijsDb.prototype.Decrypt(enc.data, enc.iv, KEY)).toBe('hello');
    const theirs = await ltijsDb.prototype.Encrypt('world', KEY);
    expect(await plugin.Decrypt(theirs.data, theirs.iv, KEY)).toBe('world');
  });

  it('an encrypted access token comes back with createdAt (ms), which ltijs compares with expires_in', async () => {
    const q = { platformUrl: 'https://canvas.example', clientId: '100', scopes: 'nrps' };
    await plugin.Replace(KEY, 'accesstoken', q, { token: { access_token: 'at', expires_in: 3600, token_type: 'bearer' } }, q);
    const got = (await plugin.Get(KEY, 'accesstoken', q)) as Array<Record<string, unknown>>;
    expect(got[0]).toEqual({ token: { access_token: 'at', expires_in: 3600, token_type: 'bearer' }, createdAt: now });
  });

  it('Modify changes columns and JSON fields of every match, leaves undefined fields alone, and can re-encrypt', async () => {
    await plugin.Insert(false, 'platform', platform({ authorizationServer: 'https://as' }));
    await plugin.Modify(false, 'platform', { platformUrl: 'https://canvas.example', clientId: '100' }, {
      platformName: 'new name', authConfig: { method: 'JWK_SET', key: 'https://other/jwks' }, authorizationServer: undefined,
    });
    expect(await plugin.Get(false, 'platform', { kid: 'kid-1' })).toEqual([
      platform({ platformName: 'new name', authConfig: { method: 'JWK_SET', key: 'https://other/jwks' }, authorizationServer: 'https://as' }),
    ]);
    // updatePlatformById moves a platform (and its keys) to another url/client id by kid.
    await plugin.Modify(false, 'platform', { kid: 'kid-1' }, { platformUrl: 'https://moved.example', clientId: '300' });
    expect(await plugin.Get(false, 'platform', { platformUrl: 'https://moved.example', clientId: '300' })).toHaveLength(1);

    const index = { kid: 'kid-1', platformUrl: 'https://canvas.example', clientId: '100' };
    await plugin.Insert(KEY, 'publickey', { key: 'pub', kid: 'kid-1' }, index);
    await plugin.Modify(KEY, 'publickey', { kid: 'kid-1' }, { key: 'pub2' });
    expect(await plugin.Get(KEY, 'publickey', { kid: 'kid-1' })).toEqual([{ key: 'pub2', kid: 'kid-1' }]);
  });

  it('Delete removes what matches; {} removes every record of the collection', async () => {
    await plugin.Insert(false, 'platformStatus', { id: 'kid-1', active: true });
    await plugin.Insert(false, 'platformStatus', { id: 'kid-2', active: false });
    await plugin.Delete('platformStatus', { id: 'kid-1' });
    expect(await plugin.Get(false, 'platformStatus')).toEqual([{ id: 'kid-2', active: false }]);
    await plugin.Delete('platformStatus', {});
    expect(await plugin.Get(false, 'platformStatus')).toBe(false);
  });

  it('short-lived records stop being returned when they expire, and the clean-up deletes them', async () => {
    await plugin.Insert(false, 'nonce', { nonce: 'n-1' });
    await plugin.Insert(false, 'state', { state: 's-1', query: { a: '1' } });
    await plugin.Insert(false, 'platform', platform());

    now += 599_000; // nonces are kept 10 minutes (longer than an id_token is accepted), states too
    expect(await plugin.Get(false, 'nonce', { nonce: 'n-1' })).toHaveLength(1);
    expect(await plugin.Get(false, 'state', { state: 's-1' })).toEqual([{ state: 's-1', query: { a: '1' }, createdAt: expect.any(Date) }]);
    expect(await plugin.cleanup()).toMatchObject({ nonce: 0, state: 0 });

    now += 2_000;
    expect(await plugin.Get(false, 'nonce', { nonce: 'n-1' })).toBe(false);
    expect(await plugin.Get(false, 'state', { state: 's-1' })).toBe(false);
    expect(await plugin.cleanup()).toMatchObject({ nonce: 1, state: 1 });
    expect(await plugin.Get(false, 'platform')).toHaveLength(1); // platforms never expire

    // An expired nonce no longer blocks its key: it can be stored again.
    await plugin.Insert(false, 'nonce', { nonce: 'n-1' });
  });

  it('the periodic clean-up deletes expired records by itself (its timer is unref’d and stopped by Close)', async () => {
    const quick = new KyselyLtiDatabase({ db: store.db, dialect: store.dialect, logger: createLogger('silent'), now: () => now, cleanupEveryMs: 20 });
    await quick.setup();
    try {
      await quick.Insert(false, 'nonce', { nonce: 'n-old' });
      now += 601_000;
      const left = async () => (await store.db.selectFrom('lti_nonces' as never).selectAll().execute()).length;
      for (let i = 0; i < 500 && (await left()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await left()).toBe(0);
    } finally {
      await quick.Close();
    }
  });

  it('id and context tokens live a day, access tokens an hour', async () => {
    const id = { iss: 'i', clientId: 'c', deploymentId: 'd', user: 'u' };
    const at = { platformUrl: 'p', clientId: 'c', scopes: 's' };
    await plugin.Replace(false, 'idtoken', id, id);
    await plugin.Replace(false, 'contexttoken', { contextId: 'x', user: 'u' }, { contextId: 'x', user: 'u' });
    await plugin.Replace(KEY, 'accesstoken', at, { token: {} }, at);
    now += 3601_000;
    expect(await plugin.Get(KEY, 'accesstoken', at)).toBe(false);
    expect(await plugin.Get(false, 'idtoken', id)).toHaveLength(1);
    now += 24 * 3600_000;
    expect(await plugin.Get(false, 'idtoken', id)).toBe(false);
    expect(await plugin.Get(false, 'contexttoken', { contextId: 'x', user: 'u' })).toBe(false);
    expect(await plugin.cleanup()).toEqual({ accesstoken: 1, nonce: 0, state: 0, idtoken: 1, contexttoken: 1 });
  });

  it('answers PROVIDER_NOT_DEPLOYED before setup and after Close, like ltijs’s own database', async () => {
    await plugin.Close();
    await expect(plugin.Get(false, 'platform')).rejects.toThrow('PROVIDER_NOT_DEPLOYED');
    await expect(plugin.Insert(false, 'nonce', { nonce: 'x' })).rejects.toThrow('PROVIDER_NOT_DEPLOYED');
    await plugin.setup();
    expect(await plugin.Get(false, 'platform')).toBe(false);
  });

  // One instance per SQLite file: there, callers serialise within the process (src/lti/provider.ts).
  if (tdb.name === 'postgres') it('exclusive() lets one holder at a time in, across connections (instances)', async () => {
    const order: string[] = [];
    const hold = (name: string) =>
      plugin.exclusive(async () => {
        order.push(`${name}+`);
        await new Promise((r) => setImmediate(r));
        order.push(`${name}-`);
      });
    const other = new KyselyLtiDatabase({ db: store.db, dialect: store.dialect, logger: createLogger('silent') });
    await Promise.all([hold('a'), other.exclusive(async () => void order.push('b+', 'b-'))]);
    expect(order.join(' ')).toMatch(/^(a\+ a- b\+ b-|b\+ b- a\+ a-)$/);
  });
});
