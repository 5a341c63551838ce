import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';

/** Thrown when an envelope is malformed, tampered with, bound to another column, or from an unknown key. */
export class VaultError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unknown_key_version' | 'authentication_failed',
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

/** Parsed `SECRET_KEY`: the version that encrypts, and every version that may decrypt. */
export interface Keyring {
  current: number;
  keys: Map<number, Buffer>;
}

/** Encrypts and decrypts secrets at rest; see {@link createVault}. */
export interface Vault {
  /** The key version new envelopes are written with. */
  readonly currentVersion: number;
  /**
   * Encrypts `plaintext` into `v<version>.<iv>.<tag>.<ciphertext>` (base64url parts).
   * @param aad binds the envelope to its place; use {@link columnAad} (`<table>.<column>`) for DB columns.
   */
  encrypt(plaintext: string, aad?: string): string;
  /** @throws VaultError when the envelope is malformed, tampered with, has another AAD, or its key is unknown. */
  decrypt(envelope: string, aad?: string): string;
  /** The key version of an envelope, or undefined when it is not one. */
  versionOf(envelope: string): number | undefined;
  /**
   * Secrets for signing session cookies, derived with HKDF from every key (current first), so a
   * key rotation keeps existing sessions valid while new ones are signed with the new key.
   */
  sessionSecrets(): string[];
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const ENVELOPE = /^v(\d+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

/** The AAD convention for an encrypted column, so a ciphertext cannot be copied to another column. */
export function columnAad(table: string, column: string): string {
  return `${table}.${column}`;
}

/** A new random `SECRET_KEY` value (one base64 32-byte key). */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Parses `SECRET_KEY`: either one base64 32-byte key (version 1) or `2:<b64>,1:<b64>` where the
 * first entry encrypts and all entries decrypt.
 * @throws Error naming what is wrong (never echoing the key).
 */
export function parseSecretKey(raw: string): Keyring {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new Error('SECRET_KEY is empty');
  const keys = new Map<number, Buffer>();
  let current: number | undefined;
  for (const part of parts) {
    const m = /^(\d+):(.+)$/.exec(part);
    if (!m && parts.length > 1) throw new Error('SECRET_KEY with several keys must be written as 2:<base64>,1:<base64>');
    const version = m ? Number(m[1]) : 1;
    const key = Buffer.from(m?.[2] ?? part, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`SECRET_KEY version ${version} must be ${KEY_BYTES} bytes in base64 (generate one with \`npm run cli -- secrets generate-key\`)`);
    }
    if (version < 1) throw new Error('SECRET_KEY versions start at 1');
    if (keys.has(version)) throw new Error(`SECRET_KEY lists version ${version} twice`);
    keys.set(version, key);
    current ??= version;
  }
  return { current: current!, keys };
}

/**
 * Returns the `SECRET_KEY` value to use. In the embedded default (SQLite, no SECRET_KEY) a key is
 * generated into `<dataDir>/secret.key` (mode 0600) on first start and reused afterwards; with
 * Postgres the config already demands SECRET_KEY, because every instance must share it.
 */
export function resolveSecretKey(config: Pick<Config, 'secretKey' | 'dataDir' | 'database'>): string {
  if (config.secretKey) return config.secretKey;
  if (config.database.kind !== 'sqlite') throw new Error('SECRET_KEY is required with Postgres');
  const file = join(config.dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, `${generateSecretKey()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** AES-256-GCM vault with key versions. Pure over its keyring: no I/O. */
export function createVault(keyring: Keyring): Vault {
  const currentKey = keyring.keys.get(keyring.current);
  if (!currentKey) throw new Error('the current key version has no key');
  const b64 = (b: Buffer) => b.toString('base64url');

  return {
    currentVersion: keyring.current,
    encrypt(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `v${keyring.current}.${b64(iv)}.${b64(cipher.getAuthTag())}.${b64(ct)}`;
    },
    decrypt(envelope, aad) {
      const m = ENVELOPE.exec(envelope);
      if (!m) throw new VaultError('malformed', 'not a vault envelope');
      // Every group of ENVELOPE is mandatory: a match has all four.
      const [, versionText, ivText, tagText, ctText] = m as unknown as [string, string, string, string, string];
      const version = Number(versionText);
      const key = keyring.keys.get(version);
      if (!key) throw new VaultError('unknown_key_version', `no key for version ${version} in SECRET_KEY`);
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== 16) throw new VaultError('malformed', 'bad envelope iv or tag');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new VaultError('authentication_failed', 'envelope failed authentication (tampered, wrong key or wrong place)');
      }
    },
    versionOf(envelope) {
      const m = ENVELOPE.exec(envelope);
      return m ? Number(m[1]) : undefined;
    },
    sessionSecrets() {
      const ordered = [keyring.current, ...[...keyring.keys.keys()].filter((v) => v !== keyring.current)];
      return ordered.map((v) =>
        Buffer.from(hkdfSync('sha256', keyring.keys.get(v)!, Buffer.alloc(0), 'canvas-companion session v1', 32)).toString('base64url'),
      );
    },
  };
}

/** SHA-256 hex of an API token: tokens are stored only as this hash. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A URL-safe random string carrying `bytes` bytes of entropy (default 32). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
