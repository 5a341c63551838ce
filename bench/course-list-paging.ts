/**
 * What the courses page's numbered paging costs: `npx tsx bench/course-list-paging.ts [-- --courses 50000]`.
 *
 * Seeds a throwaway database with one integration of N courses (every 7th not syncable) on SQLite,
 * and on Postgres when TEST_DATABASE_URL or BENCH_DATABASE_URL names one, then times (mean of 20
 * runs after a warm-up) what one page view adds: the filtered count ("of 1,814"), the first page
 * and the last page by offset, a filtered search count, and the ids behind "sync every syncable
 * course". Prints one line per query and backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateToLatest, openStore, type Store } from '../src/store/database.js';
import { createCourseRepository } from '../src/sync/course-repository.js';

const { values: args } = parseArgs({ options: { courses: { type: 'string', default: '50000' } } });
const N = Number(args.courses);

async function seed(store: Store): Promise<void> {
  await migrateToLatest(store.db);
  const t = new Date().toISOString();
  await store.db
    .insertInto('integrations')
    .values({ id: 'i', name: 'U', canvas_url: 'https://u.instructure.com', client_id: '1', client_secret_enc: null, account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '[]', lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: null, token_owner_name: null, verified_at: t, checked_at: t, created_at: t, updated_at: t })
    .execute();
  for (let i = 0; i < N; i += 500) {
    const rows = Array.from({ length: Math.min(500, N - i) }, (_, k) => {
      const id = String(1000 + i + k);
      const off = (i + k) % 7 === 0;
      return { integration_id: 'i', canvas_id: id, name: `Course ${id}`, course_code: `C${id}`, sis_course_id: `S${id}`, canvas_integration_id: null, external_id: `S${id}`, workflow_state: 'available', published: 1, syncable: off ? 0 : 1, reasons: off ? '["unpublished"]' : '[]', account_id: '1', refreshed_at: t, refresh_job_id: 'j', last_synced_at: null };
    });
    await store.db.insertInto('courses').values(rows).execute();
  }
}

async function measure(name: string, store: Store): Promise<void> {
  await seed(store);
  const repo = createCourseRepository(store.db, { pgPool: store.pgPool });
  const time = async (label: string, f: () => Promise<unknown>) => {
    await f();
    const start = performance.now();
    for (let r = 0; r < 20; r++) await f();
    console.log(`${name.padEnd(8)} ${label.padEnd(44)} ${((performance.now() - start) / 20).toFixed(2).padStart(8)} ms`);
  };
  await time('count (all courses)', () => repo.countCourses('i', {}));
  await time('count (syncable, search "course 4")', () => repo.countCourses('i', { syncable: true, search: 'course 4' }));
  await time('page 1 (50 courses, offset 0)', () => repo.listCourses('i', { limit: 50, offset: 0 }));
  await time(`last page (offset ${N - 50})`, () => repo.listCourses('i', { limit: 50, offset: N - 50 }));
  await time('every syncable course id', () => repo.syncableCourseIds('i'));
}

console.log(`${N} courses`);
const dir = mkdtempSync(join(tmpdir(), 'cc-bench-paging-'));
const sqlite = openStore({ kind: 'sqlite', file: join(dir, 'bench.sqlite') });
await measure('sqlite', sqlite);
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (base) {
  const dbName = `cc_bench_paging_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  const store = openStore({ kind: 'postgres', url: url.toString() });
  try {
    await measure('postgres', store);
  } finally {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.end();
  }
}
