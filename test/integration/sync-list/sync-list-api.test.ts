import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import ExcelJS from 'exceljs';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { MAX_IMPORT_ROWS } from '../../../src/sync-list/import-file.js';
import { testDatabases } from '../../support/databases.js';
import { seedCourses } from '../../support/sync-list-seed.js';
import { createTestContainer } from '../../support/test-container.js';

const TOKEN = 'sync-list-api-token-0123456789abcdef';
const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

type Cell = string | number | null;

/** A CSV file of these rows (the first is the header). */
function csvFile(rows: Cell[][]): Buffer {
  return Buffer.from(rows.map((r) => r.map((c) => (c === null ? '' : String(c))).join(',')).join('\r\n') + '\r\n');
}

/** An XLSX workbook of these rows on its first sheet (the first is the header). */
async function xlsxFile(rows: Cell[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Courses');
  for (const r of rows) ws.addRow(r.map((c) => (c === null ? undefined : c)));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const FORMATS = [
  { name: 'csv', type: CSV, build: async (rows: Cell[][]) => csvFile(rows) },
  { name: 'xlsx', type: XLSX, build: xlsxFile },
] as const;

describe.each(testDatabases().map((d) => [d.name, d] as const))('the sync list API (%s)', (_name, tdb) => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  let app: ReturnType<typeof createApp>;
  let id: string;
  const api = {
    get: (p: string) => request(app).get(p).set('Authorization', `Bearer ${TOKEN}`),
    post: (p: string, body: object = {}) => request(app).post(p).set('Authorization', `Bearer ${TOKEN}`).send(body),
    patch: (p: string, body: object) => request(app).patch(p).set('Authorization', `Bearer ${TOKEN}`).send(body),
    upload: (p: string, type: string, file: Buffer) => request(app).post(p).set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', type).send(file),
  };
  const listed = async () => (await c.syncList.list(id, { limit: 500 })).courses.map((x) => x.canvasId);
  const base = () => `/api/v1/integrations/${id}/sync-list`;

  beforeAll(async () => {
    c = await createTestContainer({ tdb, env: { BOOTSTRAP_API_TOKEN: TOKEN } });
    app = createApp(c);
    id = (
      await c.integrations.create({
        name: 'List University',
        canvasUrl: 'https://list.instructure.com',
        clientId: '10000000000001',
        accountId: 'self',
        courseIdType: 'sis_course_id',
        userIdType: 'sis_user_id',
        studentRoles: ['StudentEnrollment'],
      })
    ).id;
    // A connected integration: a sync list run needs a stored Canvas token.
    await c.integrations.saveToken(id, { accessToken: 'test-access', refreshToken: 'test-refresh', expiresAt: null, ownerCanvasId: '1', ownerName: 'Ada Admin', scopes: [] });
    await seedCourses(c.store, id);
  });
  afterAll(async () => {
    await c.close();
  });
  beforeEach(async () => {
    // Each test starts from the list {101, 104}.
    await c.sync.syncList.change(id, { add: ['101', '104'], remove: (await listed()).filter((x) => x !== '101' && x !== '104') }, 'test', new Date().toISOString());
  });

  it('lists with the API fields, counts of the last sync and a cursor', async () => {
    await c.syncList.change(id, { add: ['105', '106', '107'] }, 'test');
    const first = await api.get(`${base()}?limit=2`);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['courses', 'nextCursor']);
    expect(first.body.courses.map((x: { canvasId: string }) => x.canvasId)).toEqual(['101', '104']);
    expect(Object.keys(first.body.courses[0]).sort()).toEqual(['addedAt', 'canvasId', 'courseAdmins', 'examTakers', 'externalId', 'lastSyncedAt', 'name'].sort());
    expect(first.body.courses[0]).toMatchObject({ canvasId: '101', externalId: 'SIS-101', name: 'Course 101', examTakers: 2, courseAdmins: 1, lastSyncedAt: null });
    const rest = await api.get(`${base()}?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(rest.body.courses.map((x: { canvasId: string }) => x.canvasId)).toEqual(['105', '106']);
    const bad = await api.get(`${base()}?sort=name`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('sort');
  });

  it('adds and removes by Canvas id, naming each id it refused and why', async () => {
    const r = await api.post(base(), { add: ['105', '101', '102', '999'], remove: ['104', '106'] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      added: ['105'],
      removed: ['104'],
      errors: [
        { canvasId: '101', outcome: 'already_listed' },
        { canvasId: '102', outcome: 'not_syncable', reasons: ['unpublished'] },
        { canvasId: '999', outcome: 'unknown_course' },
        { canvasId: '106', outcome: 'not_listed' },
      ],
    });
    expect(await listed()).toEqual(['101', '105']);
    const unknownField = await api.post(base(), { add: ['105'], drop: ['1'] });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toContain('drop');
    const notDigits = await api.post(base(), { add: ['SIS-105'] });
    expect(notDigits.status).toBe(400);
    expect(notDigits.body.error.message).toMatch(/^add\.0: /);
  });

  describe.each(FORMATS)('import of a $name file', (f) => {
    const header = ['name', 'course_id'];

    it('previews every outcome and error with its line, and changes nothing (dryRun)', async () => {
      const file = await f.build([header, ['A', 'SIS-101'], ['B', 'SIS-105'], ['C', 'SIS-102'], ['D', 'NOPE'], ['E', 'SIS-105'], ['F', null], [null, null], ['G', 'SIS-106']]);
      const r = await api.upload(`${base()}/import?mode=add&dryRun=true`, f.type, file);
      expect(r.status).toBe(200);
      expect(r.body.applied).toBe(false);
      expect(r.body.dryRun).toBe(true);
      expect(r.body.rows).toEqual([
        { line: 2, courseId: 'SIS-101', canvasId: '101', outcome: 'already_listed' },
        { line: 3, courseId: 'SIS-105', canvasId: '105', outcome: 'added' },
        { line: 4, courseId: 'SIS-102', canvasId: '102', outcome: 'not_syncable', reasons: ['unpublished'] },
        { line: 5, courseId: 'NOPE', outcome: 'unknown_course' },
        { line: 6, courseId: 'SIS-105', outcome: 'duplicate_row' },
        { line: 7, courseId: '', outcome: 'blank' },
        // Line 8 is empty in every cell: skipped, like a spreadsheet's trailing rows.
        { line: 9, courseId: 'SIS-106', canvasId: '106', outcome: 'added' },
      ]);
      expect(r.body.summary).toEqual({ mode: 'add', rows: 7, added: 2, removed: 0, alreadyListed: 1, notListed: 0, errors: 4, listed: 4 });
      expect(await listed()).toEqual(['101', '104']);
    });

    it('applies atomically: with an error nothing changes (422); ignoreErrors applies the valid rows', async () => {
      const file = await f.build([header, ['A', 'SIS-105'], ['B', 'NOPE']]);
      const refused = await api.upload(`${base()}/import?mode=add`, f.type, file);
      expect(refused.status).toBe(422);
      expect(refused.body.applied).toBe(false);
      expect(refused.body.rows.map((x: { outcome: string }) => x.outcome)).toEqual(['added', 'unknown_course']);
      expect(await listed()).toEqual(['101', '104']);
      const forced = await api.upload(`${base()}/import?mode=add&ignoreErrors=true`, f.type, file);
      expect(forced.status).toBe(200);
      expect(forced.body.applied).toBe(true);
      expect(await listed()).toEqual(['101', '104', '105']);
    });

    it('adds (list ∪ file)', async () => {
      const r = await api.upload(`${base()}/import?mode=add`, f.type, await f.build([['course_id'], ['SIS-105'], ['SIS-104']]));
      expect(r.status).toBe(200);
      expect(r.body.applied).toBe(true);
      expect(r.body.rows.map((x: { outcome: string }) => x.outcome)).toEqual(['added', 'already_listed']);
      expect(await listed()).toEqual(['101', '104', '105']);
    });

    it('removes (list − file)', async () => {
      const r = await api.upload(`${base()}/import?mode=remove`, f.type, await f.build([['course_id'], ['SIS-104'], ['SIS-107'], ['SIS-102']]));
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual([
        { line: 2, courseId: 'SIS-104', canvasId: '104', outcome: 'removed' },
        { line: 3, courseId: 'SIS-107', canvasId: '107', outcome: 'not_listed' },
        { line: 4, courseId: 'SIS-102', canvasId: '102', outcome: 'not_listed' },
      ]);
      expect(await listed()).toEqual(['101']);
    });

    it('replaces (list = file): listed courses missing from the file are removed with line null', async () => {
      const r = await api.upload(`${base()}/import?mode=replace`, f.type, await f.build([['course_id'], ['SIS-104'], ['SIS-108']]));
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual([
        { line: 2, courseId: 'SIS-104', canvasId: '104', outcome: 'already_listed' },
        { line: 3, courseId: 'SIS-108', canvasId: '108', outcome: 'added' },
        { line: null, courseId: 'SIS-101', canvasId: '101', outcome: 'removed' },
      ]);
      expect(r.body.summary).toMatchObject({ mode: 'replace', rows: 2, added: 1, removed: 1, alreadyListed: 1, listed: 2 });
      expect(await listed()).toEqual(['104', '108']);
    });

    it('refuses a file without a course_id header, naming what it found (400)', async () => {
      const r = await api.upload(`${base()}/import?mode=add`, f.type, await f.build([['id', 'name'], ['SIS-105', 'x']]));
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'validation_failed' });
      expect(r.body.error.message).toContain('no "course_id" column');
      expect(r.body.error.message).toContain('"id"');
    });

    it(`refuses more than ${MAX_IMPORT_ROWS} rows (400)`, async () => {
      const rows: Cell[][] = [['course_id']];
      for (let i = 0; i <= MAX_IMPORT_ROWS; i++) rows.push([`X-${i}`]);
      const r = await api.upload(`${base()}/import?mode=add&dryRun=true`, f.type, await f.build(rows));
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('more than 50,000 rows');
    });

    it('exports a list that imports back unchanged (replace: every row already listed)', async () => {
      await c.syncList.change(id, { add: ['105', '106'] }, 'test');
      const before = await listed();
      const exported = await api.get(`${base()}/export?format=${f.name}`).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(exported.status).toBe(200);
      expect(exported.headers['content-type']).toContain(f.type);
      expect(exported.headers['content-disposition']).toContain(`.${f.name}"`);
      const back = await api.upload(`${base()}/import?mode=replace`, f.type, exported.body as Buffer);
      expect(back.status).toBe(200);
      expect(back.body.rows.map((x: { outcome: string }) => x.outcome)).toEqual(['already_listed', 'already_listed', 'already_listed', 'already_listed']);
      expect(back.body.summary).toMatchObject({ added: 0, removed: 0, errors: 0 });
      expect(await listed()).toEqual(before);
    });

    it('offers a template that is a valid, empty import', async () => {
      const t = await api.get(`${base()}/export?format=${f.name}&template=true`).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(t.status).toBe(200);
      const r = await api.upload(`${base()}/import?mode=add&dryRun=true`, f.type, t.body as Buffer);
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual([]);
    });
  });

  it('exports the columns of the list: term, dates (the course’s own, else the term’s), department and counts', async () => {
    const r = await api.get(`${base()}/export?format=csv`);
    expect(r.status).toBe(200);
    const [head, first] = r.text.split('\r\n');
    expect(head).toBe('course_id,canvas_id,name,course_code,term,start_at,end_at,department,syncable,reasons,exam_takers,course_admins,last_synced_at');
    expect(first).toBe('SIS-101,101,Course 101,C101,Fall 2026,2026-09-01T00:00:00.000Z,2026-12-10T00:00:00.000Z,Engineering,true,,2,1,');
    // A name a spreadsheet would run as a formula is written as text; one with a comma is quoted.
    await c.store.db.updateTable('courses').set({ name: '=HYPERLINK("x"),1' }).where('integration_id', '=', id).where('canvas_id', '=', '104').execute();
    const again = await api.get(`${base()}/export?format=csv`);
    expect(again.text.split('\r\n')[2]).toBe(`SIS-104,104,"'=HYPERLINK(""x""),1",C104,,,,,true,,0,0,`);
    await c.store.db.updateTable('courses').set({ name: 'Course 104' }).where('integration_id', '=', id).where('canvas_id', '=', '104').execute();
  });

  it('refuses an unreadable file and a file over 10 MB, each saying so (400)', async () => {
    const binary = await api.upload(`${base()}/import?mode=add`, CSV, Buffer.from([0x63, 0x6f, 0x75, 0x00, 0xff, 0x10]));
    expect(binary.status).toBe(400);
    expect(binary.body.error.message).toContain('not a CSV text file');
    const broken = await api.upload(`${base()}/import?mode=add`, XLSX, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]));
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toContain('could not be read as an XLSX workbook');
    const quote = await api.upload(`${base()}/import?mode=add`, CSV, Buffer.from('course_id\n"SIS-101\n'));
    expect(quote.status).toBe(400);
    expect(quote.body.error.message).toContain('could not be read as CSV');
    const huge = await api.upload(`${base()}/import?mode=add`, CSV, Buffer.alloc(10 * 1024 * 1024 + 10, 0x41));
    expect(huge.status).toBe(400);
    expect(huge.body.error.message).toContain('10 MB');
    const json = await api.post(`${base()}/import?mode=add`, { course_id: 'SIS-101' });
    expect(json.status).toBe(400);
    expect(json.body.error.message).toMatch(/^Content-Type: /);
    const mode = await api.upload(`${base()}/import?mode=merge`, CSV, csvFile([['course_id'], ['SIS-101']]));
    expect(mode.status).toBe(400);
    expect(mode.body.error.message).toMatch(/^mode: /);
    expect(await listed()).toEqual(['101', '104']);
  });

  it('records imports and changes in the audit log with the API token as actor', async () => {
    await api.upload(`${base()}/import?mode=add`, CSV, csvFile([['course_id'], ['SIS-107']]));
    const events = await c.audit.list(id, 10);
    expect(events.find((e) => e.action === 'sync_list.imported')).toMatchObject({ actor: expect.stringMatching(/^api-token:/), detail: expect.objectContaining({ mode: 'add', added: 1 }) });
  });

  it('starts a sync list run (202), and a second request while it is queued gets the same job', async () => {
    const r = await api.post(`${base()}/sync`, {});
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ kind: 'sync_list_sync', integrationId: id, state: 'queued' });
    const again = await api.post(`${base()}/sync`, {});
    expect(again.body.id).toBe(r.body.id);
    await c.sync.runner.cancel(r.body.id);
  });

  it('sets, shows and clears syncSchedule; under 15 minutes or not whole is a 400 naming syncSchedule.everyMinutes', async () => {
    const set = await api.patch(`/api/v1/integrations/${id}`, { syncSchedule: { everyMinutes: 30 } });
    expect(set.status).toBe(200);
    expect(set.body.syncSchedule).toEqual({ everyMinutes: 30 });
    expect((await api.get(`/api/v1/integrations/${id}`)).body.syncSchedule).toEqual({ everyMinutes: 30 });
    for (const everyMinutes of [14, 15.5, '30']) {
      const bad = await api.patch(`/api/v1/integrations/${id}`, { syncSchedule: { everyMinutes } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/^syncSchedule\.everyMinutes: /);
    }
    const off = await api.patch(`/api/v1/integrations/${id}`, { syncSchedule: null });
    expect(off.body.syncSchedule).toBeNull();
    const created = await api.post('/api/v1/integrations', { name: 'Scheduled', canvasUrl: 'https://sched.instructure.com', clientId: '10000000000002', syncSchedule: { everyMinutes: 15 } });
    expect(created.status).toBe(201);
    expect(created.body.syncSchedule).toEqual({ everyMinutes: 15 });
  });
});
