/**
 * Import speed of the sync list: `npm run bench:sync-list-import [-- --rows 50000 --only sqlite|postgres]`.
 *
 * Seeds a throwaway database with an integration and `rows` syncable courses, writes a CSV and an
 * XLSX file listing every one of them (the largest file an import accepts), and times, for each
 * format: reading the file alone (CSV streaming, XLSX in memory), a preview (dryRun: parse + decide every row),
 * and applying it to an empty list (parse + decide + one transaction inserting every row).
 * Prints the file sizes, each time, and the process's peak RSS. Postgres runs when
 * BENCH_DATABASE_URL or TEST_DATABASE_URL names one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { createAuditLog } from '../src/audit/audit-log.js';
import { migrateToLatest, openStore, type Store } from '../src/store/database.js';
import { readImportFile } from '../src/sync-list/import-file.js';
import { createSyncListRepository } from '../src/sync-list/sync-list-repository.js';
import { createSyncListService } from '../src/sync-list/sync-list-service.js';
import type { Integration } from '../src/integrations/integration.js';
import { createPostgresDatabase } from '../test/support/databases.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '50000' }, only: { type: 'string' } } });
const ROWS = Number(args.rows);

async function seed(store: Store): Promise<string> {
  const id = 'bench-int';
  const t = new Date().toISOString();
  await store.db
    .insertInto('integrations')
    .values({
      id, name: 'Bench U', canvas_url: 'https://bench.instructure.com', client_id: '1', client_secret_enc: null, account_id: 'self',
      course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '["StudentEnrollment"]', lti: null, state: 'verified',
      reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: t, checked_at: t, created_at: t, updated_at: t,
    })
    .execute();
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    integration_id: id, canvas_id: String(100000 + i), name: `Course ${i}`, course_code: `C${i}`, sis_course_id: `SIS-${i}`, canvas_integration_id: null,
    external_id: `SIS-${i}`, workflow_state: 'available', published: 1, syncable: 1, reasons: '[]', account_id: '1', refreshed_at: t, refresh_job_id: null, last_synced_at: null,
  }));
  for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('courses').values(rows.slice(i, i + 500)).execute();
  return id;
}

async function files(): Promise<{ csv: Buffer; xlsx: Buffer }> {
  const lines = ['course_id,name'];
  for (let i = 0; i < ROWS; i++) lines.push(`SIS-${i},Course ${i}`);
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('List');
  ws.addRow(['course_id', 'name']);
  for (let i = 0; i < ROWS; i++) ws.addRow([`SIS-${i}`, `Course ${i}`]);
  return { csv: Buffer.from(lines.join('\n') + '\n'), xlsx: Buffer.from(await wb.xlsx.writeBuffer()) };
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

async function run(name: string, store: Store, f: { csv: Buffer; xlsx: Buffer }): Promise<void> {
  await migrateToLatest(store.db);
  const id = await seed(store);
  const repo = createSyncListRepository(store.db);
  const integration = { id } as Integration;
  const service = createSyncListService({
    repo,
    integrations: { get: async (x) => (x === id ? integration : undefined) },
    audit: createAuditLog({ db: store.db, clock: () => new Date() }),
    startSync: async () => {
      throw new Error('not in this bench');
    },
    clock: () => new Date(),
  });
  for (const format of ['csv', 'xlsx'] as const) {
    const [rows, parseMs] = await time(() => readImportFile(f[format], format));
    const [preview, previewMs] = await time(() => service.import(id, f[format], { mode: 'add', dryRun: true, format }, 'bench'));
    const [applied, applyMs] = await time(() => service.import(id, f[format], { mode: 'add', format }, 'bench'));
    if (rows.length !== ROWS || preview.summary.added !== ROWS || !applied.applied || (await repo.count(id)) !== ROWS) throw new Error(`${name} ${format}: wrong result`);
    console.log(
      `${name.padEnd(8)} ${format.padEnd(4)} ${(f[format].length / 1024 / 1024).toFixed(2)} MB, ${ROWS} rows: parse ${(parseMs / 1000).toFixed(2)} s, preview ${(previewMs / 1000).toFixed(2)} s, apply ${(applyMs / 1000).toFixed(2)} s`,
    );
    await repo.change(id, { add: [], remove: await repo.listedIds(id) }, 'bench', new Date().toISOString());
  }
}

const f = await files();
if (args.only !== 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-list-'));
  const store = openStore({ kind: 'sqlite', file: join(dir, 'bench.sqlite') });
  try {
    await run('sqlite', store, f);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (pgUrl && args.only !== 'sqlite') {
  const db = await createPostgresDatabase(pgUrl);
  const store = openStore({ kind: 'postgres', url: db.url });
  try {
    await run('postgres', store, f);
  } finally {
    await store.close();
    await db.drop();
  }
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
