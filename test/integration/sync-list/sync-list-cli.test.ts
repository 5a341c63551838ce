import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { runCli } from '../../../src/cli/main.js';
import type { Container } from '../../../src/container.js';
import { captureIO } from '../../support/cli-io.js';
import { seedCourses } from '../../support/sync-list-seed.js';
import { createTestContainer } from '../../support/test-container.js';

describe('CLI: sync-list add, remove, import, export, sync (sqlite)', () => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  let id: string;
  let empty: string;
  let dir: string;
  // The test owns the container: the CLI must not close it between commands.
  const run = (argv: string[], io = captureIO()) => runCli(argv, {}, io, async () => ({ ...c, close: async () => undefined }) as Container).then((code) => ({ code, io }));
  const listed = async () => (await c.syncList.list(id, { limit: 500 })).courses.map((x) => x.canvasId);
  const base = { canvasUrl: 'https://cli.instructure.com', clientId: '10000000000003', accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };

  beforeAll(async () => {
    c = await createTestContainer();
    id = (await c.integrations.create({ ...base, name: 'CLI University' })).id;
    empty = (await c.integrations.create({ ...base, name: 'Empty College', clientId: '10000000000004' })).id;
    // Connected integrations: a sync list run needs a stored Canvas token.
    for (const i of [id, empty]) await c.integrations.saveToken(i, { accessToken: 'test-access', refreshToken: 'test-refresh', expiresAt: null, ownerCanvasId: '1', ownerName: 'Ada Admin', scopes: [] });
    await seedCourses(c.store, id);
    dir = mkdtempSync(join(tmpdir(), 'cc-sync-list-cli-'));
  });
  afterAll(async () => {
    await c.sync.runner.stop();
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('add and remove by Canvas id, exit 1 naming the ids refused', async () => {
    const ok = await run(['sync-list', 'add', id, '101', '104']);
    expect(ok.code).toBe(0);
    expect(ok.io.stdout[0]).toBe('2 added, 0 removed');
    const bad = await run(['sync-list', 'add', id, '102', '105']);
    expect(bad.code).toBe(1);
    expect(bad.io.stdout.join('\n')).toContain('102: not_syncable (unpublished)');
    const rm = await run(['sync-list', 'remove', id, '105']);
    expect(rm.code).toBe(0);
    expect(await listed()).toEqual(['101', '104']);
  });

  it('import --mode replace --dry-run file.xlsx prints every row and changes nothing', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('List');
    ws.addRow(['course_id']);
    ws.addRow(['SIS-104']);
    ws.addRow(['SIS-106']);
    const file = join(dir, 'list.xlsx');
    writeFileSync(file, Buffer.from(await wb.xlsx.writeBuffer()));
    const r = await run(['sync-list', 'import', id, file, '--mode', 'replace', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.io.stdout).toEqual([
      'line 2\tSIS-104\talready_listed',
      'line 3\tSIS-106\tadded',
      '-\tSIS-101\tremoved',
      'replace: 1 added, 1 removed, 1 already listed, 0 not listed, 0 errors; the list holds 2 courses (preview, nothing changed)',
    ]);
    expect(await listed()).toEqual(['101', '104']);
  });

  it('import with an error row applies nothing and exits 1; --ignore-errors applies the valid rows', async () => {
    const file = join(dir, 'add.csv');
    writeFileSync(file, 'course_id\nSIS-107\nSIS-999\n');
    const refused = await run(['sync-list', 'import', id, file]);
    expect(refused.code).toBe(1);
    expect(refused.io.stdout).toContain('line 3\tSIS-999\tERROR unknown_course');
    expect(refused.io.stdout.at(-1)).toContain('NOT applied');
    expect(await listed()).toEqual(['101', '104']);
    const forced = await run(['sync-list', 'import', id, file, '--ignore-errors']);
    expect(forced.code).toBe(0);
    expect(await listed()).toEqual(['101', '104', '107']);
    const missing = await run(['sync-list', 'import', id, join(dir, 'nope.csv')]);
    expect(missing.code).not.toBe(0);
    expect(missing.io.stderr.join('\n')).toContain('cannot read');
  });

  it('export --format xlsx --out writes a file that imports back unchanged; csv goes to stdout', async () => {
    const out = join(dir, 'export.xlsx');
    const x = await run(['sync-list', 'export', id, '--format', 'xlsx', '--out', out]);
    expect(x.code).toBe(0);
    const back = await run(['sync-list', 'import', id, out, '--mode', 'replace']);
    expect(back.code).toBe(0);
    expect(back.io.stdout.at(-1)).toContain('0 added, 0 removed, 3 already listed');
    const csv = await run(['sync-list', 'export', id]);
    expect(csv.io.stdout[0]!.split('\r\n')[0]).toMatch(/^course_id,canvas_id,name,/);
    const template = await run(['sync-list', 'export', id, '--template']);
    expect(template.io.stdout).toEqual(['course_id']);
  });

  it('sync starts the job; sync --wait runs it here and prints its summary', async () => {
    const queued = await run(['sync-list', 'sync', id]);
    expect(queued.code).toBe(0);
    expect(queued.io.stdout[0]).toMatch(/^sync_list_sync \S+: queued/);
    await c.sync.runner.cancel(queued.io.stdout[0]!.split(' ')[1]!.replace(':', ''));
    const waited = await run(['sync-list', 'sync', empty, '--wait']);
    expect(waited.code).toBe(0);
    expect(waited.io.stdout[0]).toMatch(/^sync_list_sync \S+: succeeded/);
    expect(waited.io.stdout[0]).toMatch(/: succeeded — 0 of 0 courses synced: 0 added, 0 removed, 0 changed$/);
  });
});
