import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createIntegrationsRepository, type IntegrationsRepository } from '../../src/integrations/integrations-repository.js';
import { createIntegrationSchemas } from '../../src/integrations/integration.js';
import { createVault, generateSecretKey, parseSecretKey } from '../../src/vault/vault.js';
import { testDatabases } from '../support/databases.js';

const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });
const input = (over: Record<string, unknown> = {}) =>
  schemas.create.parse({ name: 'Springfield U', canvasUrl: 'https://canvas.springfield.edu/', clientId: '10000000000042', clientSecret: 'S3CRET-client-secret-value', ...over });

describe.each(testDatabases())('integrations repository ($name)', (tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  let repo: IntegrationsRepository;

  beforeAll(async () => {
    store = await tdb.open();
    repo = createIntegrationsRepository({ db: store.db, vault: createVault(parseSecretKey(generateSecretKey())), dialect: store.dialect });
  });
  afterAll(async () => store.close());

  it('creates an integration with defaults and not_connected status, without exposing the secret', async () => {
    const created = await repo.create(input());
    expect(created).toMatchObject({
      canvasUrl: 'https://canvas.springfield.edu',
      accountId: 'self',
      courseIdType: 'sis_course_id',
      userIdType: 'sis_user_id',
      studentRoles: ['StudentEnrollment'],
      clientSecretSet: true,
      status: { state: 'not_connected', reasons: [], checks: [] },
    });
    expect(JSON.stringify(await repo.get(created.id))).not.toContain('S3CRET');
    expect(await repo.getClientSecret(created.id)).toBe('S3CRET-client-secret-value');
  });

  it('stores the client secret and tokens encrypted', async () => {
    const created = await repo.create(input());
    await repo.saveToken(created.id, { accessToken: 'ACCESS-plain', refreshToken: 'REFRESH-plain', expiresAt: null, ownerCanvasId: '1', ownerName: 'A', scopes: [] });
    const rows = await sql<Record<string, unknown>>`select * from integrations`.execute(store.db);
    const tokens = await sql<Record<string, unknown>>`select * from integration_tokens`.execute(store.db);
    const dump = JSON.stringify([rows.rows, tokens.rows]);
    for (const secret of ['S3CRET-client-secret-value', 'ACCESS-plain', 'REFRESH-plain']) expect(dump).not.toContain(secret);
  });

  it('patches fields, replaces the secret, and returns undefined for an unknown id', async () => {
    const created = await repo.create(input({ clientSecret: undefined }));
    expect(created.clientSecretSet).toBe(false);
    const patched = await repo.update(created.id, schemas.patch.parse({ name: 'New name', clientSecret: 'other', userIdType: 'email' }));
    expect(patched).toMatchObject({ name: 'New name', userIdType: 'email', clientSecretSet: true });
    expect(await repo.getClientSecret(created.id)).toBe('other');
    expect(await repo.update('nope', { name: 'x' })).toBeUndefined();
  });

  it('records status with checks and token owner', async () => {
    const created = await repo.create(input());
    const status = {
      state: 'degraded' as const,
      reasons: ['includes_not_allowed' as const],
      missingScopes: [],
      checks: [{ name: 'include_params', ok: false, reason: 'includes_not_allowed' as const, detail: 'x' }],
      tokenOwner: { id: '7', name: 'Ada' },
      verifiedAt: null,
      checkedAt: '2026-01-01T00:00:00.000Z',
    };
    await repo.setStatus(created.id, status);
    expect((await repo.get(created.id))!.status).toEqual({ ...status, lastAttempt: null });
  });

  it('keeps the last Generate Keys attempt apart: a status without it leaves it, Disconnect-like statuses clear it', async () => {
    const created = await repo.create(input());
    const attempt = { at: '2026-12-06T10:00:00.000Z', ok: false, reason: 'access_denied' as const, detail: 'Cancelled.' };
    const verified = { state: 'verified' as const, reasons: [], missingScopes: [], checks: [], tokenOwner: { id: '1', name: 'A' }, verifiedAt: null, checkedAt: null };
    await repo.setStatus(created.id, { ...verified, lastAttempt: attempt });
    expect((await repo.get(created.id))!.status.lastAttempt).toEqual(attempt);
    await repo.setStatus(created.id, verified);
    expect((await repo.get(created.id))!.status.lastAttempt).toEqual(attempt);
    await repo.setStatus(created.id, { ...verified, lastAttempt: null });
    expect((await repo.get(created.id))!.status.lastAttempt).toBeNull();
  });

  it('saves, replaces and deletes tokens, bumping the generation', async () => {
    const created = await repo.create(input());
    const t = { accessToken: 'a1', refreshToken: 'r1', expiresAt: '2026-01-01T01:00:00.000Z', ownerCanvasId: '5', ownerName: 'Bo', scopes: ['url:GET|/api/v1/users/:id'] };
    expect((await repo.saveToken(created.id, t)).generation).toBe(1);
    expect((await repo.saveToken(created.id, { ...t, accessToken: 'a2' })).generation).toBe(2);
    expect(await repo.getToken(created.id)).toMatchObject({ accessToken: 'a2', refreshToken: 'r1', generation: 2, scopes: t.scopes });
    expect(await repo.deleteToken(created.id)).toBe(true);
    expect(await repo.getToken(created.id)).toBeUndefined();
  });

  it('withTokenLock stores a refreshed access token and keeps the refresh token', async () => {
    const created = await repo.create(input());
    await repo.saveToken(created.id, { accessToken: 'old', refreshToken: 'keep', expiresAt: null, ownerCanvasId: '5', ownerName: 'Bo', scopes: [] });
    const got = await repo.withTokenLock(created.id, async (cur) => ({ result: cur?.accessToken, save: { accessToken: 'new', expiresAt: '2030-01-01T00:00:00.000Z' } }));
    expect(got).toBe('old');
    expect(await repo.getToken(created.id)).toMatchObject({ accessToken: 'new', refreshToken: 'keep', generation: 2 });
  });

  it('deletes an integration with its token', async () => {
    const created = await repo.create(input());
    await repo.saveToken(created.id, { accessToken: 'a', refreshToken: null, expiresAt: null, ownerCanvasId: '5', ownerName: 'Bo', scopes: [] });
    expect(await repo.delete(created.id)).toBe(true);
    expect(await repo.get(created.id)).toBeUndefined();
    expect(await repo.getToken(created.id)).toBeUndefined();
    expect(await repo.delete(created.id)).toBe(false);
  });
});
