import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openStore } from '../../src/store/database.js';
import { createIntegrationsRepository, type IntegrationsRepository } from '../../src/integrations/integrations-repository.js';
import { createIntegrationSchemas } from '../../src/integrations/integration.js';
import { createTokenSources, TokenUnavailableError, type RefreshGrant } from '../../src/oauth/token-source.js';
import { createVault, generateSecretKey, parseSecretKey } from '../../src/vault/vault.js';
import { testDatabases } from '../support/databases.js';

const vault = createVault(parseSecretKey(generateSecretKey()));
const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });
const NOW = new Date('2026-03-01T12:00:00.000Z');
const clock = () => NOW;

/** A fake Canvas token endpoint: counts grants, answers after a delay so callers overlap. */
function fakeGrant(outcome: 'ok' | 'token_revoked' | 'invalid_client' = 'ok') {
  let calls = 0;
  const grant: RefreshGrant = async () => async () => {
    calls += 1;
    await new Promise((r) => setTimeout(r, 30));
    if (outcome !== 'ok') return { ok: false, reason: outcome, detail: outcome };
    return { ok: true, accessToken: `fresh-${calls}`, expiresIn: 3600 };
  };
  return { grant, calls: () => calls };
}

describe.each(testDatabases())('token sources ($name)', (tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  let repo: IntegrationsRepository;

  beforeAll(async () => {
    store = await tdb.open();
    repo = createIntegrationsRepository({ db: store.db, vault, dialect: store.dialect, clock });
  });
  afterAll(async () => store.close());

  async function integrationWithToken(expiresAt: string | null) {
    const i = await repo.create(schemas.create.parse({ name: 'U', canvasUrl: 'https://u.instructure.com', clientId: '1', clientSecret: 's' }));
    await repo.saveToken(i.id, { accessToken: 'stale', refreshToken: 'r', expiresAt, ownerCanvasId: '9', ownerName: 'Owner', scopes: [] });
    return i.id;
  }

  it('returns the stored token while it is far from expiry', async () => {
    const id = await integrationWithToken('2026-03-01T12:30:00.000Z');
    const fake = fakeGrant();
    const src = createTokenSources({ repo, refreshGrant: fake.grant, clock }).forIntegration(id);
    expect(await src.current()).toBe('stale');
    expect(fake.calls()).toBe(0);
  });

  it('20 concurrent callers with a token expiring within 5 minutes share exactly one refresh', async () => {
    const id = await integrationWithToken('2026-03-01T12:04:00.000Z');
    const fake = fakeGrant();
    const src = createTokenSources({ repo, refreshGrant: fake.grant, clock }).forIntegration(id);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => src.current()));
    expect(new Set(tokens)).toEqual(new Set(['fresh-1']));
    expect(fake.calls()).toBe(1);
    expect(await repo.getToken(id)).toMatchObject({ accessToken: 'fresh-1', refreshToken: 'r', expiresAt: '2026-03-01T13:00:00.000Z' });
  });

  it('a refresh for an already replaced token reuses the new one without a grant', async () => {
    const id = await integrationWithToken(null);
    const fake = fakeGrant();
    const sources = createTokenSources({ repo, refreshGrant: fake.grant, clock });
    expect(await sources.forIntegration(id).refresh('stale')).toBe('fresh-1');
    expect(await sources.forIntegration(id).refresh('stale')).toBe('fresh-1');
    expect(fake.calls()).toBe(1);
  });

  it('a revoked refresh token fails the integration with token_revoked and drops the token', async () => {
    const id = await integrationWithToken(null);
    const src = createTokenSources({ repo, refreshGrant: fakeGrant('token_revoked').grant, clock }).forIntegration(id);
    await expect(src.refresh('stale')).rejects.toMatchObject({ reason: 'token_revoked' });
    expect((await repo.get(id))!.status).toMatchObject({ state: 'failed', reasons: ['token_revoked'] });
    expect(await repo.getToken(id)).toBeUndefined();
    await expect(src.current()).rejects.toBeInstanceOf(TokenUnavailableError);
  });

  it('invalid_client on refresh fails the integration with invalid_client', async () => {
    const id = await integrationWithToken(null);
    const src = createTokenSources({ repo, refreshGrant: fakeGrant('invalid_client').grant, clock }).forIntegration(id);
    await expect(src.refresh('stale')).rejects.toMatchObject({ reason: 'invalid_client' });
    expect((await repo.get(id))!.status).toMatchObject({ state: 'failed', reasons: ['invalid_client'] });
  });

  if (tdb.name === 'postgres') {
    it('two service instances refreshing at once send exactly one grant (row lock)', async () => {
      const id = await integrationWithToken('2026-03-01T12:01:00.000Z');
      const other = openStore(store.config);
      try {
        const repo2 = createIntegrationsRepository({ db: other.db, vault, dialect: 'postgres', clock });
        const fake = fakeGrant();
        const a = createTokenSources({ repo, refreshGrant: fake.grant, clock }).forIntegration(id);
        const b = createTokenSources({ repo: repo2, refreshGrant: fake.grant, clock }).forIntegration(id);
        const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).current()));
        expect(new Set(tokens)).toEqual(new Set(['fresh-1']));
        expect(fake.calls()).toBe(1);
      } finally {
        await other.close();
      }
    });
  }
});
