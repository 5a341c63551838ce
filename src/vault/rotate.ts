import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { ENCRYPTED_COLUMNS } from '../store/schema.js';
import { columnAad, type Vault } from './vault.js';

export interface RotationResult {
  /** Values re-encrypted under the current key version. */
  reencrypted: number;
  /** Values already under the current version (left alone). */
  current: number;
  /** Values changed by someone else between read and write (left to the writer; already current). */
  raced: number;
  /** `table.column` + key of values that could not be decrypted with any configured key. */
  failed: string[];
}

const PAGE = 200;

/**
 * Re-encrypts every value in {@link ENCRYPTED_COLUMNS} under the vault's current key version,
 * row by row. Safe while the service runs: instances keep decrypting old versions (they have
 * every key in SECRET_KEY), each update is conditional on the value being unchanged, and running
 * it again only touches values still under an old version.
 * Values written without AAD (none should exist) are re-encrypted without AAD, so readers keep working.
 */
export async function rotateSecrets(db: Kysely<Database>, vault: Vault): Promise<RotationResult> {
  // Table and column names come from the static ENCRYPTED_COLUMNS list, never from input.
  const anyDb = db as unknown as Kysely<Record<string, Record<string, string | null>>>;
  const result: RotationResult = { reencrypted: 0, current: 0, raced: 0, failed: [] };

  for (const { table, key, column } of ENCRYPTED_COLUMNS) {
    const keyCol = key[0];
    const aad = columnAad(table, column);
    let after: string | undefined;
    for (;;) {
      let q = anyDb
        .selectFrom(table)
        .select([`${keyCol} as k`, `${column} as v`])
        .where(column, 'is not', null)
        .orderBy(keyCol)
        .limit(PAGE);
      if (after !== undefined) q = q.where(keyCol, '>', after);
      const rows = (await q.execute()) as Array<{ k: string; v: string }>;
      const last = rows.at(-1);
      if (!last) break;
      after = last.k;
      for (const { k, v } of rows) {
        if (vault.versionOf(v) === vault.currentVersion) {
          result.current++;
          continue;
        }
        let next: string;
        try {
          next = vault.encrypt(vault.decrypt(v, aad), aad);
        } catch {
          try {
            next = vault.encrypt(vault.decrypt(v));
          } catch {
            result.failed.push(`${table}.${column} ${keyCol}=${k}`);
            continue;
          }
        }
        const res = await anyDb
          .updateTable(table)
          .set({ [column]: next })
          .where(keyCol, '=', k)
          .where(column, '=', v)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) result.reencrypted++;
        else result.raced++;
      }
    }
  }
  return result;
}
