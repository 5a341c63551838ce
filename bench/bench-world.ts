import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openStore, type Store } from '../src/store/database.js';
import { allPermissions, buildDeveloperKey, emptyWorld, type World } from '../src/simulator/world.js';

/** The developer key and admin the benchmark's token belongs to. */
export const KEY_ID = '10000000000077';
export const ADMIN_ID = '1';

/**
 * A deterministic account of `n` courses with 1–3 sections each: every 20th unpublished, every
 * 50th concluded, every 25th without an SIS id, every 40th with a first section lacking one.
 */
export function buildBenchWorld(n: number, opts: { enrollmentsPerCourse?: number } = {}): World {
  const w = emptyWorld('Bench University');
  w.developerKeys.push(buildDeveloperKey({ id: KEY_ID, secret: 'bench-secret', redirectUris: ['http://127.0.0.1/cb'] }));
  w.users.push({ id: ADMIN_ID, name: 'Bench Admin', sortableName: 'Admin, Bench', loginId: 'admin', password: 'pw', admin: { accountId: '1', role: 'Account Admin', permissions: allPermissions() } });
  let sec = 1_000_000;
  for (let i = 0; i < n; i++) {
    const id = String(100_000 + i);
    const state = i % 20 === 7 ? 'created' : i % 50 === 11 ? 'completed' : 'available';
    w.courses.push({ id, accountId: '1', name: `Course ${i}`, courseCode: `C${i}`, workflowState: state, sisCourseId: i % 25 === 3 ? null : `SIS-${i}`, integrationId: null });
    for (let s = 0; s <= i % 3; s++) {
      const sid = String(sec++);
      w.sections.push({ id: sid, courseId: id, name: `Section ${s + 1}`, sisSectionId: i % 40 === 5 && s === 0 ? null : `SEC-${sid}` });
    }
  }
  const per = opts.enrollmentsPerCourse ?? 0;
  if (per > 0) addRosters(w, per);
  return w;
}

/**
 * Gives every course a teacher and `per` students: a pool of students half the number of
 * enrollments, so each student takes two courses (as in a real account), each in one of the
 * course's sections; every 30th enrollment invited, every 45th concluded.
 */
function addRosters(w: World, per: number): void {
  const courses = w.courses;
  const pool = Math.max(1, Math.floor((courses.length * per) / 2));
  for (let u = 0; u < pool; u++) {
    const id = String(2_000_000 + u);
    w.users.push({ id, name: `Student ${u}`, sortableName: `${u}, Student`, loginId: `s${u}`, password: 'pw', sisUserId: `STU-${u}`, email: `s${u}@example.edu` });
  }
  const sectionsOf = new Map<string, string[]>();
  for (const s of w.sections) sectionsOf.set(s.courseId, [...(sectionsOf.get(s.courseId) ?? []), s.id]);
  let e = 5_000_000;
  courses.forEach((c, ci) => {
    const sections = sectionsOf.get(c.id) ?? [];
    const teacher = String(3_000_000 + ci);
    w.users.push({ id: teacher, name: `Teacher ${ci}`, sortableName: `${ci}, Teacher`, loginId: `t${ci}`, password: 'pw', sisUserId: `TEA-${ci}`, email: `t${ci}@example.edu` });
    w.enrollments.push({ id: String(e++), userId: teacher, courseId: c.id, sectionId: sections[0]!, type: 'TeacherEnrollment', role: 'TeacherEnrollment', state: 'active' });
    for (let k = 0; k < per; k++) {
      const n = ci * per + k;
      const student = String(2_000_000 + (n % pool));
      const state = n % 30 === 29 ? 'invited' : n % 45 === 44 ? 'completed' : 'active';
      w.enrollments.push({ id: String(e++), userId: student, courseId: c.id, sectionId: sections[k % sections.length]!, type: 'StudentEnrollment', role: 'StudentEnrollment', state });
    }
  });
}

/**
 * A throwaway SQLite store in a temporary folder, migrated, holding the verified integration
 * `bench` for the sandbox at `canvasUrl` (the benchmark's developer key and admin). Delete `dir`
 * when done.
 */
export async function openBenchStore(canvasUrl: string, prefix: string): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = openStore({ kind: 'sqlite', file: join(dir, 'bench.sqlite') });
  await migrateToLatest(store.db);
  const t = new Date().toISOString();
  await store.db
    .insertInto('integrations')
    .values({ id: 'bench', name: 'Bench', canvas_url: canvasUrl, client_id: KEY_ID, client_secret_enc: null, account_id: 'self', course_id_type: 'sis_course_id', user_id_type: 'sis_user_id', student_roles: '["StudentEnrollment"]', lti: null, state: 'verified', reasons: '[]', missing_scopes: '[]', checks: '[]', token_owner_id: ADMIN_ID, token_owner_name: 'Bench Admin', verified_at: t, checked_at: t, created_at: t, updated_at: t })
    .execute();
  return { store, dir };
}
