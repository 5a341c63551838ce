import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRegistrationRepository, type RegistrationRepository } from '../../../src/lti/registration-repository.js';
import type { Store } from '../../../src/store/database.js';
import { testDatabases } from '../../support/databases.js';

/** The Dynamic Registration windows and single-use tokens, on every dialect. */
describe.each(testDatabases())('LTI registration repository on $name', (tdb) => {
  let store: Store;
  let repo: RegistrationRepository;
  let now = Date.parse('2026-12-06T12:00:00.000Z');

  beforeAll(async () => {
    store = await tdb.open();
    const at = new Date(now).toISOString();
    for (const id of ['int-1', 'int-2']) {
      await store.db
        .insertInto('integrations')
        .values({
          id, name: id, canvas_url: 'https://canvas.example.edu', client_id: '1', client_secret_enc: null,
          account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null,
          state: 'not_connected', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null,
          verified_at: null, checked_at: null, created_at: at, updated_at: at,
        } as never)
        .execute();
    }
    repo = createRegistrationRepository({ db: store.db, clock: () => new Date(now) });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('a window is open until it expires; opening again extends it; closing ends it', async () => {
    await repo.openWindow('int-1', 'staff:a', '2026-12-06T13:00:00.000Z');
    expect(await repo.openWindowOf('int-1', '2026-12-06T12:59:59.000Z')).toMatchObject({ openedBy: 'staff:a' });
    expect(await repo.openWindowOf('int-1', '2026-12-06T13:00:00.000Z')).toBeUndefined();
    await repo.openWindow('int-1', 'staff:b', '2026-12-06T14:00:00.000Z');
    expect(await repo.openWindowOf('int-1', '2026-12-06T13:30:00.000Z')).toMatchObject({ openedBy: 'staff:b' });
    expect(await repo.openWindowOf('int-2', '2026-12-06T12:00:00.000Z')).toBeUndefined();
    await repo.closeWindow('int-1');
    expect(await repo.openWindowOf('int-1', '2026-12-06T12:00:00.000Z')).toBeUndefined();
  });

  it('a registration token is claimed once, whichever integration tries again', async () => {
    expect(await repo.claimToken('uuid:t1', 'int-1')).toBe(true);
    expect(await repo.claimToken('uuid:t1', 'int-1')).toBe(false);
    expect(await repo.claimToken('uuid:t1', 'int-2')).toBe(false);
  });

  it('a registered key awaits its first deployment once', async () => {
    expect(await repo.claimToken('uuid:t2', 'int-1')).toBe(true);
    expect(await repo.awaitingFirstDeployment('int-1', '100')).toBe(false);
    await repo.finishToken('uuid:t2', 'registered', '100');
    expect(await repo.awaitingFirstDeployment('int-1', '100')).toBe(true);
    expect(await repo.awaitingFirstDeployment('int-2', '100')).toBe(false);
    now += 1000;
    expect(await repo.markDeploymentAdopted('int-1', '100')).toBe(true);
    expect(await repo.markDeploymentAdopted('int-1', '100')).toBe(false);
    expect(await repo.awaitingFirstDeployment('int-1', '100')).toBe(false);
  });
});
