/**
 * The diff-based roster write, measured: one course with N students (default 2,000) and a teacher
 * in the in-process sandbox, synced three times: first (everyone is new), unchanged (must write
 * nothing), and after one student was concluded (one row, one entry). Prints time, statements
 * that wrote and change entries for each. SQLite always; Postgres too with BENCH_DATABASE_URL.
 *
 *   npx tsx bench/roster-diff.ts --students 2000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteQueryNode, InsertQueryNode, UpdateQueryNode, type KyselyPlugin } from 'kysely';
import { createCanvasClient } from '../src/canvas/client.js';
import { createChangeLog } from '../src/changes/change-log.js';
import { createChangeLogRepository } from '../src/changes/change-log-repository.js';
import { createCanvasSandbox } from '../src/simulator/sandbox.js';
import { allPermissions, buildDeveloperKey, emptyWorld } from '../src/simulator/world.js';
import { migrateToLatest, openStore, type Store } from '../src/store/database.js';
import { createCourseRepository } from '../src/sync/course-repository.js';
import { createRosterSync } from '../src/sync/roster-sync.js';

const { values: args } = parseArgs({ options: { students: { type: 'string', default: '2000' } } });
const N = Number(args.students);

function world() {
  const w = emptyWorld('Bench University');
  w.developerKeys.push(buildDeveloperKey({ id: '10000000000099', secret: 'bench-secret', redirectUris: ['http://127.0.0.1/cb'] }));
  w.users.push({ id: '1', name: 'Bench Admin', sortableName: 'Admin, Bench', loginId: 'admin', password: 'pw-admin', admin: { accountId: '1', role: 'Account Admin', permissions: allPermissions() } });
  w.courses.push({ id: '500', accountId: '1', name: 'Big course', courseCode: 'BIG', workflowState: 'available', sisCourseId: 'BIG-500', integrationId: null });
  w.sections.push({ id: '5001', courseId: '500', name: 'A', sisSectionId: 'SEC-A', integrationId: null }, { id: '5002', courseId: '500', name: 'B', sisSectionId: 'SEC-B', integrationId: null });
  for (let i = 0; i <= N; i++) {
    const id = String(10_000 + i);
    w.users.push({ id, name: `Person ${i}`, sortableName: `Person ${i}`, loginId: `p${i}`, password: 'pw', sisUserId: `S${i}` });
    w.enrollments.push({ id: String(900_000 + i), userId: id, courseId: '500', sectionId: i % 2 ? '5001' : '5002', type: i === 0 ? 'TeacherEnrollment' : 'StudentEnrollment', role: i === 0 ? 'TeacherEnrollment' : 'StudentEnrollment', state: 'active' });
  }
  return w;
}

async function run(label: string, store: Store): Promise<void> {
  await migrateToLatest(store.db);
  const sandbox = createCanvasSandbox({ latencyMs: 0, world: world() });
  await sandbox.start(0, '127.0.0.1');
  const token = sandbox.state.issueToken(sandbox.state.user('1')!, sandbox.state.findKey('10000000000099')!, []).accessToken;
  const t = new Date().toISOString();
  await store.db
    .insertInto('integrations')
    .values({ id: 'bench', name: 'Bench', canvas_url: sandbox.url, client_id: '10000000000099', client_secret_enc: null, account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '["StudentEnrollment"]', lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: '1', token_owner_name: 'Bench Admin', verified_at: t, checked_at: t, created_at: t, updated_at: t })
    .execute();
  let writes = 0;
  const counter: KyselyPlugin = {
    transformQuery: (a) => {
      if (InsertQueryNode.is(a.node) || UpdateQueryNode.is(a.node) || DeleteQueryNode.is(a.node)) writes++;
      return a.node;
    },
    transformResult: async (a) => a.result,
  };
  const db = store.db.withPlugin(counter);
  const sync = createRosterSync({
    courses: createCourseRepository(db),
    changeLog: createChangeLog({ repo: createChangeLogRepository(db) }),
    clientFor: (s) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: 'canvas-companion-bench' }),
    tokenSourceFor: () => ({ current: async () => token, refresh: async () => token }),
  });
  const step = async (name: string) => {
    writes = 0;
    const t0 = performance.now();
    const r = await sync('bench', '500');
    const ms = performance.now() - t0;
    console.log(`${label.padEnd(8)} ${name.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  write statements ${String(writes).padStart(4)}  rows ${String(r.written?.rows).padStart(5)}  change entries ${String(r.written?.changes).padStart(5)}`);
  };
  await step(`first sync (${N} students)`);
  await step('unchanged re-sync');
  sandbox.control.concludeEnrollment({ userId: '10001', courseId: '500' });
  await step('one student concluded');
  await sandbox.stop();
}

const dir = mkdtempSync(join(tmpdir(), 'cc-bench-'));
try {
  const sqlite = openStore({ kind: 'sqlite', file: join(dir, 'bench.sqlite') });
  await run('sqlite', sqlite);
  await sqlite.close();
  if (process.env.BENCH_DATABASE_URL) {
    const pg = openStore({ kind: 'postgres', url: process.env.BENCH_DATABASE_URL });
    await run('postgres', pg);
    await pg.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
