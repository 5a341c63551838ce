import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kysely } from 'kysely';
import type { Database } from '../../../src/store/schema.js';
import { rotateSecrets } from '../../../src/vault/rotate.js';
import { columnAad, createVault, generateSecretKey, parseSecretKey, type Vault } from '../../../src/vault/vault.js';
import { testDatabases } from '../../support/databases.js';

const OLD = generateSecretKey();
const NEW = generateSecretKey();

async function seed(db: Kysely<Database>, vault: Vault, n: number): Promise<Map<string, string>> {
  const now = new Date().toISOString();
  const expected = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const id = `int-${String(i).padStart(3, '0')}`;
    const secret = `client-secret-canary-${i}-${'x'.repeat(8)}`;
    const access = `access-token-canary-${i}`;
    const refresh = `refresh-token-canary-${i}`;
    const verifier = `pkce-verifier-canary-${i}`;
    await db
      .insertInto('integrations')
      .values({
        id, name: `Uni ${i}`, canvas_url: 'https://canvas.example.edu', client_id: `1000${i}`,
        client_secret_enc: vault.encrypt(secret, columnAad('integrations', 'client_secret_enc')),
        account_id: '1', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null,
        state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null,
        verified_at: null, checked_at: null, created_at: now, updated_at: now,
      })
      .execute();
    await db
      .insertInto('integration_tokens')
      .values({
        integration_id: id,
        access_token_enc: vault.encrypt(access, columnAad('integration_tokens', 'access_token_enc')),
        refresh_token_enc: vault.encrypt(refresh, columnAad('integration_tokens', 'refresh_token_enc')),
        expires_at: null, owner_canvas_id: '1', owner_name: 'Admin', scopes: '[]', generation: 1, created_at: now, updated_at: now,
      })
      .execute();
    await db
      .insertInto('oauth_states')
      .values({
        state_hash: `hash-${i}`, integration_id: id, browser_hash: 'b',
        pkce_verifier_enc: vault.encrypt(verifier, columnAad('oauth_states', 'pkce_verifier_enc')),
        redirect_uri: 'http://localhost/oauth/callback', scopes: '[]', created_at: now, expires_at: now, used_at: null,
      })
      .execute();
    expected.set(`integrations.client_secret_enc.${id}`, secret);
    expected.set(`integration_tokens.access_token_enc.${id}`, access);
    expected.set(`integration_tokens.refresh_token_enc.${id}`, refresh);
    expected.set(`oauth_states.pkce_verifier_enc.hash-${i}`, verifier);
  }
  return expected;
}

async function readAll(db: Kysely<Database>): Promise<Array<{ where: string; env: string; aad: string }>> {
  const out: Array<{ where: string; env: string; aad: string }> = [];
  for (const r of await db.selectFrom('integrations').select(['id', 'client_secret_enc']).execute()) {
    out.push({ where: `integrations.client_secret_enc.${r.id}`, env: r.client_secret_enc!, aad: 'integrations.client_secret_enc' });
  }
  for (const r of await db.selectFrom('integration_tokens').selectAll().execute()) {
    out.push({ where: `integration_tokens.access_token_enc.${r.integration_id}`, env: r.access_token_enc, aad: 'integration_tokens.access_token_enc' });
    out.push({ where: `integration_tokens.refresh_token_enc.${r.integration_id}`, env: r.refresh_token_enc!, aad: 'integration_tokens.refresh_token_enc' });
  }
  for (const r of await db.selectFrom('oauth_states').select(['state_hash', 'pkce_verifier_enc']).execute()) {
    out.push({ where: `oauth_states.pkce_verifier_enc.${r.state_hash}`, env: r.pkce_verifier_enc, aad: 'oauth_states.pkce_verifier_enc' });
  }
  return out;
}

describe.each(testDatabases())('secret rotation on $name', (tdb) => {
  let store: Awaited<ReturnType<typeof tdb.open>>;
  let expected: Map<string, string>;
  const oldVault = createVault(parseSecretKey(OLD));
  const newVault = createVault(parseSecretKey(`2:${NEW},1:${OLD}`));

  beforeAll(async () => {
    store = await tdb.open();
    // More rows than one page (200), so paging is exercised.
    expected = await seed(store.db, oldVault, 210);
  });
  afterAll(async () => {
    await store.close();
  });

  it('re-encrypts every value under the new key, keeps each readable, and leaves no old-version envelope', async () => {
    const result = await rotateSecrets(store.db, newVault);
    expect(result).toEqual({ reencrypted: 840, current: 0, raced: 0, failed: [] });
    const rows = await readAll(store.db);
    expect(rows).toHaveLength(840);
    for (const { where, env, aad } of rows) {
      expect(newVault.versionOf(env)).toBe(2);
      expect(newVault.decrypt(env, aad)).toBe(expected.get(where));
    }
    const v2only = createVault(parseSecretKey(`2:${NEW}`));
    const [first] = rows;
    if (!first) throw new Error('no encrypted row to read back');
    expect(v2only.decrypt(first.env, first.aad)).toBe(expected.get(first.where));
  });

  it('is idempotent: a second run changes nothing', async () => {
    const before = await readAll(store.db);
    const result = await rotateSecrets(store.db, newVault);
    expect(result).toEqual({ reencrypted: 0, current: 840, raced: 0, failed: [] });
    expect(await readAll(store.db)).toEqual(before);
  });

  it('reports values no configured key can open instead of destroying them', async () => {
    const stranger = createVault(parseSecretKey(`1:${generateSecretKey()}`));
    const bad = stranger.encrypt('unreadable', 'integrations.client_secret_enc');
    await store.db.updateTable('integrations').set({ client_secret_enc: bad }).where('id', '=', 'int-000').execute();
    const result = await rotateSecrets(store.db, newVault);
    expect(result.failed).toEqual(['integrations.client_secret_enc id=int-000']);
    const row = await store.db.selectFrom('integrations').select('client_secret_enc').where('id', '=', 'int-000').executeTakeFirstOrThrow();
    expect(row.client_secret_enc).toBe(bad);
  });

  if (tdb.name === 'sqlite') {
    it('leaves no plaintext secret in the SQLite files', async () => {
      const file = (store.config as { file: string }).file;
      await store.db.selectFrom('integrations').select('id').execute();
      const dir = dirname(file);
      const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
      expect(bytes.length).toBeGreaterThan(0);
      for (const secret of ['client-secret-canary-7-', 'access-token-canary-7', 'refresh-token-canary-7', 'pkce-verifier-canary-7']) {
        expect(bytes.includes(Buffer.from(secret))).toBe(false);
      }
      // The check itself can find text: integration names are stored in plaintext.
      expect(bytes.includes(Buffer.from('Uni 7'))).toBe(true);
    });
  }
});
