import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPlatformStorageRepository, STORAGE_LOGIN_TTL_MS, storageHash } from '../../src/lti/platform-storage-repository.js';
import type { Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';

/** The server half of platform-storage logins: hashed, bound to a nonce, single use, expiring. */
describe.each(testDatabases())('LTI platform-storage logins (%s)', (tdb) => {
  let store: Store & { close(): Promise<void> };
  let now = new Date('2026-12-06T12:00:00Z');
  const clock = () => now;
  const login = (state: string) => ({ state, nonce: `n-${state}`, issuer: 'https://canvas.instructure.com', clientId: '7', integrationId: 'a' });

  beforeAll(async () => {
    store = await tdb.open();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('stores only hashes, and the state is used once even by concurrent posts', async () => {
    const repo = createPlatformStorageRepository({ db: store.db, clock });
    await repo.begin(login('s1'));
    const rows = await store.db.selectFrom('lti_storage_logins').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('"s1"');
    expect(JSON.stringify(rows)).not.toContain('n-s1');
    expect(await repo.peek('s1')).toEqual({ issuer: 'https://canvas.instructure.com', clientId: '7', integrationId: 'a', nonceHash: storageHash('n-s1') });

    const results = await Promise.all([repo.use('s1'), repo.use('s1'), repo.use('s1')]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'used' }, { ok: false, reason: 'used' }]);
    expect(await repo.use('unknown')).toEqual({ ok: false, reason: 'unknown' });
    expect(await repo.peek('unknown')).toBeUndefined();
  });

  it('the ltik hop is let through once, and only after the launch used the state', async () => {
    const repo = createPlatformStorageRepository({ db: store.db, clock });
    await repo.begin(login('s2'));
    expect(await repo.connect('s2')).toBe(false); // not launched yet
    expect((await repo.use('s2')).ok).toBe(true);
    const hops = await Promise.all([repo.connect('s2'), repo.connect('s2')]);
    expect(hops.sort()).toEqual([false, true]);
  });

  it('expires after its lifetime, for the launch and the hop, and is pruned an hour later', async () => {
    const repo = createPlatformStorageRepository({ db: store.db, clock });
    await repo.begin(login('s3'));
    await repo.begin(login('s4'));
    expect((await repo.use('s4')).ok).toBe(true);
    now = new Date(now.getTime() + STORAGE_LOGIN_TTL_MS + 1);
    expect(await repo.use('s3')).toEqual({ ok: false, reason: 'expired' });
    expect(await repo.connect('s4')).toBe(false);
    now = new Date(now.getTime() + 60 * 60 * 1000 + 1);
    await repo.prune();
    expect(await repo.peek('s3')).toBeUndefined();
  });
});
