/**
 * The benchmark's Canvas sandbox, run as a child process of the benchmark: a real Canvas is another
 * machine, so its request handling must neither queue behind the client's work on one event loop
 * (which inflates a concurrent client's round trips far more than a sequential one's) nor count in
 * the product's memory. Started with `fork`; the world's size and the sandbox options come as the
 * first argument (JSON). Messages: in `{ type: 'counters' | 'stop' | 'enrollments' }` and `{ type: 'control', name, args }`; out `ready`, `counters`, `enrollments`, `controlled`.
 */
import { createCanvasSandbox, type SandboxOptions } from '../src/simulator/sandbox.js';
import { ADMIN_ID, KEY_ID, buildBenchWorld } from './bench-world.js';

export interface SandboxProcessArgs {
  courses: number;
  /** Students per course (plus one teacher each); 0 or absent: no rosters. */
  enrollmentsPerCourse?: number;
  options: Omit<SandboxOptions, 'world' | 'clock' | 'plugins'>;
}

const send = (m: object) => process.send!(m);
const args = JSON.parse(process.argv[2] ?? '{}') as SandboxProcessArgs;
const world = buildBenchWorld(args.courses, { enrollmentsPerCourse: args.enrollmentsPerCourse });
const sandbox = createCanvasSandbox({ ...args.options, world });
await sandbox.start(0, '127.0.0.1');
const token = sandbox.state.issueToken(sandbox.state.user(ADMIN_ID)!, sandbox.state.findKey(KEY_ID)!, []).accessToken;
send({ type: 'ready', url: sandbox.url, token, courses: world.courses.length, sections: world.sections.length });
process.on('message', (m: { type: string; name?: string; args?: unknown }) => {
  // A world control (dropEnrollment, enroll…), as `POST /__sandbox/<name>` does.
  if (m.type === 'control') {
    const control = sandbox.control as unknown as Record<string, (a: unknown) => unknown>;
    send({ type: 'controlled', result: control[m.name!]!(m.args) ?? null });
  }
  if (m.type === 'enrollments') send({ type: 'enrollments', enrollments: world.enrollments.slice(0, 200) });
  if (m.type === 'counters') send({ type: 'counters', counters: sandbox.control.counters(), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
  if (m.type === 'stop') void sandbox.stop().then(() => process.exit(0));
});
// The benchmark died: do not linger.
process.on('disconnect', () => process.exit(0));
