import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPlatformOwners } from '../../src/lti/platform-owners.js';
import type { Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';

describe.each(testDatabases())('LTI platform owners ($name)', (tdb) => {
  let store: Store & { close(): Promise<void> };
  const clock = () => new Date('2026-12-06T12:00:00Z');
  const pair = { issuer: 'https://canvas.instructure.com', clientId: '10000000000077' };

  beforeAll(async () => {
    store = await tdb.open();
    const t = '2026-12-06T11:00:00.000Z';
    const row = (id: string) => ({
      id, name: `Inst ${id}`, canvas_url: `https://${id}.instructure.com`, client_id: '1', client_secret_enc: null, account_id: 'self',
      course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null, state: 'not_connected', reasons: '[]',
      missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: null, checked_at: null, created_at: t, updated_at: t,
    });
    await store.db.insertInto('integrations').values([row('a'), row('b'), row('c')]).execute();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('of concurrent claims of one pair exactly one wins; the others learn who holds it', async () => {
    const owners = createPlatformOwners({ db: store.db, clock });
    const results = await Promise.all(['a', 'b', 'c'].map((id) => owners.claim(pair, id, null)));
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const holder = (await owners.holderOf(pair))!;
    for (const r of results) if (!r.ok) expect(r.holder.integrationId).toBe(holder.integrationId);
    // The holder claiming again (e.g. a successful launch) records the proof; nobody else can.
    expect(await owners.claim(pair, holder.integrationId, 'launch')).toEqual({ ok: true });
    expect(await owners.holderOf(pair)).toMatchObject({ integrationId: holder.integrationId, provenBy: 'launch' });
    const other = ['a', 'b', 'c'].find((id) => id !== holder.integrationId)!;
    expect(await owners.claim(pair, other, 'launch')).toMatchObject({ ok: false });
  });

  it('a move hands the pair over; releasing keeps only the pair still registered', async () => {
    const owners = createPlatformOwners({ db: store.db, clock });
    await owners.move(pair, 'c');
    expect(await owners.holderOf(pair)).toMatchObject({ integrationId: 'c', provenBy: 'staff' });
    const second = { issuer: pair.issuer, clientId: '10000000000078' };
    expect(await owners.claim(second, 'c', null)).toEqual({ ok: true });
    await owners.releaseOthers('c', second);
    expect(await owners.holderOf(pair)).toBeUndefined();
    expect(await owners.holderOf(second)).toMatchObject({ integrationId: 'c' });
  });
});
