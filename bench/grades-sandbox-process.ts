/**
 * The grade benchmark's Canvas sandbox, as a child process (a real Canvas is another machine):
 * one published course with `students` active students (SIS ids `S1`…). Started with `fork`;
 * options as the first argument (JSON). Messages: in `counters` | `runJobs` | `stop`; out `ready`, `counters`, `ran`.
 */
import { createCanvasSandbox, type SandboxOptions } from '../src/simulator/sandbox.js';
import { allPermissions, buildDeveloperKey, emptyWorld } from '../src/simulator/world.js';

export interface GradesSandboxArgs {
  students: number;
  options: Omit<SandboxOptions, 'world' | 'clock' | 'plugins'>;
}

const BENCH_COURSE = '500';
const KEY_ID = '10000000000078';
const ADMIN_ID = '1';

const args = JSON.parse(process.argv[2] ?? '{}') as GradesSandboxArgs;
const w = emptyWorld('Grades Bench University');
w.developerKeys.push(buildDeveloperKey({ id: KEY_ID, secret: 'bench-secret', redirectUris: ['http://127.0.0.1/cb'] }));
w.users.push({ id: ADMIN_ID, name: 'Bench Admin', sortableName: 'Admin, Bench', loginId: 'admin', password: 'pw', admin: { accountId: '1', role: 'Account Admin', permissions: allPermissions() } });
w.courses.push({ id: BENCH_COURSE, accountId: '1', name: 'Big Course', courseCode: 'BIG', workflowState: 'available', sisCourseId: 'SIS-BIG', integrationId: null });
w.sections.push({ id: '5001', courseId: BENCH_COURSE, name: 'Section 1', sisSectionId: 'SEC-5001' });
for (let i = 1; i <= args.students; i++) {
  const id = String(10_000 + i);
  w.users.push({ id, name: `Student ${i}`, sortableName: `${i}, Student`, loginId: `s${i}`, password: 'pw', sisUserId: `S${i}`, email: `s${i}@example.edu` });
  w.enrollments.push({ id: String(900_000 + i), userId: id, courseId: BENCH_COURSE, sectionId: '5001', type: 'StudentEnrollment', role: 'StudentEnrollment', state: 'active' });
}
const sandbox = createCanvasSandbox({ ...args.options, world: w });
await sandbox.start(0, '127.0.0.1');
const token = sandbox.state.issueToken(sandbox.state.user(ADMIN_ID)!, sandbox.state.findKey(KEY_ID)!, []).accessToken;
const send = (m: object) => process.send!(m);
send({ type: 'ready', url: sandbox.url, token });
process.on('message', (m: { type: string }) => {
  if (m.type === 'counters') send({ type: 'counters', counters: sandbox.control.counters() });
  if (m.type === 'runJobs') send({ type: 'ran', n: sandbox.control.runJobs() });
  if (m.type === 'stop') void sandbox.stop().then(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
