import type { Kysely } from 'kysely';

/**
 * ltijs's own records (src/lti/kysely-lti-database.ts), one table per ltijs collection. The fields
 * ltijs looks records up by are columns (their natural key is the primary key, so `Replace` is an
 * upsert); everything else is JSON text in `doc`. In the key tables and the access-token table
 * `doc` holds only ltijs's ciphertext (`iv`, `data`). `expires_at` (null: never) is when a
 * short-lived record stops being returned; a periodic clean-up deletes it.
 *
 * Created here, under the migration lock, so instances starting together on an empty database
 * never race to create them.
 */
const TABLES: Array<{ name: string; key: string[]; columns: string[]; unique?: string[][]; expiring: boolean }> = [
  { name: 'lti_platforms', key: ['platform_url', 'client_id'], columns: ['platform_url', 'client_id', 'kid'], unique: [['kid']], expiring: false },
  { name: 'lti_platform_statuses', key: ['id'], columns: ['id'], expiring: false },
  { name: 'lti_public_keys', key: ['kid'], columns: ['kid', 'platform_url', 'client_id'], unique: [['platform_url', 'client_id']], expiring: false },
  { name: 'lti_private_keys', key: ['kid'], columns: ['kid', 'platform_url', 'client_id'], unique: [['platform_url', 'client_id']], expiring: false },
  { name: 'lti_access_tokens', key: ['platform_url', 'client_id', 'scopes'], columns: ['platform_url', 'client_id', 'scopes'], expiring: true },
  { name: 'lti_nonces', key: ['nonce'], columns: ['nonce'], expiring: true },
  { name: 'lti_states', key: ['state'], columns: ['state'], expiring: true },
  { name: 'lti_id_tokens', key: ['iss', 'client_id', 'deployment_id', 'user_sub'], columns: ['iss', 'client_id', 'deployment_id', 'user_sub'], expiring: true },
  { name: 'lti_context_tokens', key: ['context_id', 'user_sub'], columns: ['context_id', 'user_sub'], expiring: true },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const t of TABLES) {
    let table = db.schema.createTable(t.name);
    for (const c of t.columns) table = table.addColumn(c, 'text', (col) => col.notNull());
    table = table
      .addColumn('doc', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addPrimaryKeyConstraint(`${t.name}_pk`, t.key as never);
    for (const u of t.unique ?? []) table = table.addUniqueConstraint(`${t.name}_${u.join('_')}_unique`, u as never);
    await table.execute();
    if (t.expiring) await db.schema.createIndex(`${t.name}_expires_at_idx`).on(t.name).column('expires_at').execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [...TABLES].reverse()) await db.schema.dropTable(t.name).execute();
}
