import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLaunchStore } from '../../src/lti/launch-store.js';
import type { Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';

describe.each(testDatabases())('LTI launch store (%s)', (tdb) => {
  let store: Store & { close(): Promise<void> };
  let now = new Date('2026-11-26T12:00:00Z');
  const clock = () => now;

  beforeAll(async () => {
    store = await tdb.open();
    const t = '2026-11-26T11:00:00.000Z';
    const row = (id: string, lti: string | null) => ({
      id, name: `Inst ${id}`, canvas_url: `https://${id}.instructure.com`, client_id: '1', client_secret_enc: null, account_id: 'self',
      course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti, state: 'not_connected', reasons: '[]',
      missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: null, checked_at: null, created_at: t, updated_at: t,
    });
    await store.db.insertInto('integrations').values([row('a', JSON.stringify({ environment: 'production', clientId: '7', deploymentIds: ['1:a'] })), row('b', null)]).execute();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('lists only integrations with a usable LTI registration', async () => {
    const launches = createLaunchStore({ db: store.db, clock });
    expect((await launches.listLtiIntegrations()).map((i) => i.id)).toEqual(['a']);
    expect((await launches.getIntegration('b'))?.lti).toBeNull();
  });

  it('a hand-over token works once, is stored only as a hash, and expires after two minutes', async () => {
    const launches = createLaunchStore({ db: store.db, clock });
    const token = await launches.createHandoff('a', { kind: 'admin', label: 'Inst a', sub: 's', name: null });
    const rows = await store.db.selectFrom('lti_handoffs').select('token_hash').execute();
    expect(rows.some((r) => r.token_hash === token)).toBe(false);

    expect(await launches.peekHandoff(token)).toMatchObject({ ok: true, integrationId: 'a' });
    const [first, second] = await Promise.all([launches.consumeHandoff(token), launches.consumeHandoff(token)]);
    expect([first.ok, second.ok].sort()).toEqual([false, true]);
    expect(await launches.consumeHandoff(token)).toEqual({ ok: false, reason: 'used' });

    const late = await launches.createHandoff('a', { kind: 'admin', label: 'Inst a', sub: 's', name: null });
    now = new Date(now.getTime() + 121_000);
    expect(await launches.consumeHandoff(late)).toEqual({ ok: false, reason: 'expired' });
    expect(await launches.consumeHandoff('nope')).toEqual({ ok: false, reason: 'unknown' });
  });

  it('keeps the latest NRPS snapshot per course', async () => {
    const launches = createLaunchStore({ db: store.db, clock });
    const m = { userId: 'u', name: 'N', email: null, sourcedId: null, canvasUserId: '1', roles: [], status: 'Active' };
    await launches.saveNrpsSnapshot('a', '10', { members: [m], error: null, fetchedAt: 't1' });
    await launches.saveNrpsSnapshot('a', '10', { members: [], error: 'HTTP 401', fetchedAt: 't2' });
    expect(await launches.getNrpsSnapshot('a', '10')).toEqual({ members: [], error: 'HTTP 401', fetchedAt: 't2' });
    expect(await launches.getNrpsSnapshot('a', '11')).toBeUndefined();
  });
});
