import { parseArgs } from 'node:util';
import { buildDemoWorld, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from './demo-world.js';
import { createCanvasSandbox } from './sandbox.js';
import { loadWorld, saveWorld } from './world.js';

/**
 * CLI entry: `npm run sandbox -- --port 4000 --world demo|<file.json> [--courses 2000] [--seed N]
 * [--latency 0] [--save-world file.json]`. Prints where it listens and the demo logins.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4000' },
      host: { type: 'string', default: '127.0.0.1' },
      world: { type: 'string', default: 'demo' },
      courses: { type: 'string' },
      seed: { type: 'string' },
      latency: { type: 'string', default: '0' },
      'rate-limit-mode': { type: 'string', default: '403' },
      'no-throttle': { type: 'boolean', default: false },
      'save-world': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run sandbox -- [--port 4000] [--host 127.0.0.1] [--world demo|<file.json>] [--courses N] [--seed N]\n' +
        '                          [--latency ms] [--rate-limit-mode 403|429] [--no-throttle] [--save-world file.json]\n',
    );
    return;
  }
  const world =
    values.world === 'demo'
      ? buildDemoWorld({ courses: values.courses ? Number(values.courses) : undefined, seed: values.seed ? Number(values.seed) : undefined })
      : loadWorld(values.world);
  if (values['save-world']) saveWorld(world, values['save-world']);
  const sandbox = createCanvasSandbox({
    world,
    latencyMs: Number(values.latency),
    rateLimitMode: values['rate-limit-mode'] === '429' ? '429' : '403',
    throttle: { enabled: !values['no-throttle'] },
  });
  const url = await sandbox.start(Number(values.port), values.host);
  process.stdout.write(
    `Canvas sandbox listening on ${url}\n` +
      `  world: ${values.world} (${world.courses.length} courses, ${world.sections.length} sections, ${world.enrollments.length} enrollments, ${world.users.length} users)\n` +
      (values.world === 'demo'
        ? `  developer key: client_id ${DEMO_CLIENT_ID}, secret ${DEMO_CLIENT_SECRET}\n  logins: admin/password (all permissions), limited/password (no read_sis), notoken/password, teacher/password, student/password\n`
        : '') +
      `  control: ${url}/__sandbox/counters\n`,
  );
  const shutdown = () => {
    sandbox.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
