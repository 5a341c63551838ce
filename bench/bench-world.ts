import { allPermissions, buildDeveloperKey, emptyWorld, type World } from '../src/simulator/world.js';

/** The developer key and admin the benchmark's token belongs to. */
export const KEY_ID = '10000000000077';
export const ADMIN_ID = '1';

/**
 * A deterministic account of `n` courses with 1–3 sections each: every 20th unpublished, every
 * 50th concluded, every 25th without an SIS id, every 40th with a first section lacking one.
 */
export function buildBenchWorld(n: number): World {
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
  return w;
}
