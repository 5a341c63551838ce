import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  VaultError,
  columnAad,
  createVault,
  generateSecretKey,
  hashApiToken,
  parseSecretKey,
  randomToken,
  resolveSecretKey,
} from '../../src/vault/vault.js';

const key1 = generateSecretKey();
const key2 = generateSecretKey();

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof VaultError ? err.reason : 'not-a-vault-error';
  }
  return undefined;
}

describe('vault', () => {
  const vault = createVault(parseSecretKey(key1));
  const aad = columnAad('integrations', 'client_secret_enc');

  it('round-trips a secret and never contains the plaintext', () => {
    const env = vault.encrypt('super-secret-value', aad);
    expect(env).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(env).not.toContain('super-secret-value');
    expect(vault.decrypt(env, aad)).toBe('super-secret-value');
  });

  it('uses a fresh IV each time, so equal secrets give different envelopes', () => {
    expect(vault.encrypt('same', aad)).not.toBe(vault.encrypt('same', aad));
  });

  it('rejects a tampered ciphertext', () => {
    const env = vault.encrypt('super-secret-value', aad);
    const parts = env.split('.');
    const ct = Buffer.from(parts[3] ?? '', 'base64url');
    ct.writeUInt8(ct.readUInt8(0) ^ 0x01, 0);
    parts[3] = ct.toString('base64url');
    expect(reasonOf(() => vault.decrypt(parts.join('.'), aad))).toBe('authentication_failed');
  });

  it('rejects a tampered tag', () => {
    const parts = vault.encrypt('x', aad).split('.');
    const tag = Buffer.from(parts[2] ?? '', 'base64url');
    tag.writeUInt8(tag.readUInt8(3) ^ 0x80, 3);
    parts[2] = tag.toString('base64url');
    expect(reasonOf(() => vault.decrypt(parts.join('.'), aad))).toBe('authentication_failed');
  });

  it('rejects an envelope moved to another column (AAD mismatch)', () => {
    const env = vault.encrypt('token', columnAad('integration_tokens', 'access_token_enc'));
    expect(reasonOf(() => vault.decrypt(env, columnAad('integration_tokens', 'refresh_token_enc')))).toBe('authentication_failed');
  });

  it('rejects decryption with the wrong key', () => {
    const other = createVault(parseSecretKey(key2));
    expect(reasonOf(() => other.decrypt(vault.encrypt('x', aad), aad))).toBe('authentication_failed');
  });

  it('rejects an envelope whose key version is not configured', () => {
    const v2only = createVault(parseSecretKey(`2:${key2}`));
    expect(reasonOf(() => v2only.decrypt(vault.encrypt('x', aad), aad))).toBe('unknown_key_version');
  });

  it('rejects something that is not an envelope', () => {
    expect(reasonOf(() => vault.decrypt('plaintext-secret', aad))).toBe('malformed');
  });

  it('with several keys, encrypts with the first and decrypts all', () => {
    const rotated = createVault(parseSecretKey(`2:${key2},1:${key1}`));
    const old = vault.encrypt('old secret', aad);
    expect(rotated.currentVersion).toBe(2);
    expect(rotated.decrypt(old, aad)).toBe('old secret');
    expect(rotated.versionOf(rotated.encrypt('new', aad))).toBe(2);
  });

  it('derives session secrets from every key, current first, without exposing the key', () => {
    const rotated = createVault(parseSecretKey(`2:${key2},1:${key1}`));
    const secrets = rotated.sessionSecrets();
    expect(secrets).toHaveLength(2);
    expect(secrets[1]).toBe(vault.sessionSecrets()[0]);
    expect(secrets.join()).not.toContain(key1);
  });

  it.each([
    ['short key', Buffer.alloc(16).toString('base64')],
    ['unversioned list', `${key1},${key2}`],
    ['duplicate version', `1:${key1},1:${key2}`],
    ['empty', ' '],
  ])('refuses a malformed SECRET_KEY (%s)', (_name, raw) => {
    expect(() => parseSecretKey(raw)).toThrow();
  });

  it('hashes API tokens with SHA-256 and makes URL-safe random tokens', () => {
    expect(hashApiToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const t = randomToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(t);
  });
});

describe('resolveSecretKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sqlite = { kind: 'sqlite' as const, file: join(dir, 'db.sqlite') };

  it('generates a key file with mode 0600 on first start and reuses it', () => {
    const first = resolveSecretKey({ secretKey: undefined, dataDir: dir, database: sqlite });
    expect(parseSecretKey(first).keys.get(1)).toHaveLength(32);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(resolveSecretKey({ secretKey: undefined, dataDir: dir, database: sqlite })).toBe(first);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim()).toBe(first);
  });

  it('prefers SECRET_KEY when set', () => {
    expect(resolveSecretKey({ secretKey: key2, dataDir: dir, database: sqlite })).toBe(key2);
  });

  it('never generates a key for Postgres', () => {
    expect(() => resolveSecretKey({ secretKey: undefined, dataDir: dir, database: { kind: 'postgres', url: 'postgres://x/y' } })).toThrow();
  });
});
