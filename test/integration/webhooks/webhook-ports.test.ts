import { createIntegrationSchemas } from '../../../src/integrations/integration.js';
import { createIntegrationsRepository, type StatusChange } from '../../../src/integrations/integrations-repository.js';
import { NOT_CONNECTED } from '../../../src/integrations/reasons.js';
import { notifyWhenFinished } from '../../../src/jobs/job-finished.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import type { Job } from '../../../src/jobs/types.js';
import { createVault, generateSecretKey, parseSecretKey } from '../../../src/vault/vault.js';
import { testDatabases } from '../../support/databases.js';

const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });

describe.each(testDatabases())('the ports webhooks listen on ($name)', (tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  beforeAll(async () => {
    store = await tdb.open();
  });
  afterAll(async () => store.close());

  it('integrations: onStatusChanged is told each saved move of the state, not a save with the same state', async () => {
    const changes: StatusChange[] = [];
    const repo = createIntegrationsRepository({
      db: store.db,
      vault: createVault(parseSecretKey(generateSecretKey())),
      dialect: store.dialect,
      onStatusChanged: (c) => void changes.push(c),
    });
    const i = await repo.create(schemas.create.parse({ name: 'Port U', canvasUrl: 'https://canvas.port.edu', clientId: '10000000000042', clientSecret: 'port-secret' }));
    const at = new Date().toISOString();
    await repo.setStatus(i.id, { ...NOT_CONNECTED, checkedAt: at });
    expect(changes).toEqual([]);
    await repo.setStatus(i.id, { ...NOT_CONNECTED, state: 'failed', reasons: ['token_revoked'], checkedAt: at });
    await repo.setStatus(i.id, { ...NOT_CONNECTED, state: 'failed', reasons: ['token_revoked'], checkedAt: at });
    await repo.markTokenFailed(i.id, 'token_revoked', 'again');
    expect(changes).toEqual([{ integrationId: i.id, from: 'not_connected', to: 'failed', reasons: ['token_revoked'] }]);
    // Changing the Canvas URL drops the credentials and resets the state: that is a move too.
    await repo.update(i.id, { canvasUrl: 'https://canvas2.port.edu' });
    expect(changes.at(-1)).toEqual({ integrationId: i.id, from: 'failed', to: 'not_connected', reasons: [] });
    // A listener that throws does not undo the save.
    const throwing = createIntegrationsRepository({
      db: store.db,
      vault: createVault(parseSecretKey(generateSecretKey())),
      dialect: store.dialect,
      onStatusChanged: () => {
        throw new Error('outbox away');
      },
    });
    await throwing.setStatus(i.id, { ...NOT_CONNECTED, state: 'verified', checkedAt: at });
    expect((await repo.get(i.id))!.status.state).toBe('verified');
  });

  it('jobs: the listener hears every final state once (finish, cancel of a queued job), never a finish that lost the lease', async () => {
    const heard: Job[] = [];
    const repo = notifyWhenFinished(createJobRepository(store.db), (j) => void heard.push(j));
    const a = await repo.create('course_refresh', 'int-port-1', {});
    const row = (await repo.claim(a.id, 'owner-1', 30_000))!;
    await repo.finish(row.id, 'someone-else', { state: 'succeeded', summary: {} });
    expect(heard).toEqual([]);
    await repo.finish(row.id, 'owner-1', { state: 'failed', error: { code: 'internal', message: 'x' } });
    expect(heard.map((j) => [j.id, j.state])).toEqual([[a.id, 'failed']]);
    const b = await repo.create('course_refresh', 'int-port-2', {});
    await repo.requestCancel(b.id);
    await repo.requestCancel(b.id);
    expect(heard.map((j) => [j.id, j.state])).toEqual([
      [a.id, 'failed'],
      [b.id, 'cancelled'],
    ]);
  });
});
