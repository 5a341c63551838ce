/**
 * A separate process that runs grade_post jobs from a SQLite file (used by the SIGKILL test):
 * env CC_DB_FILE, CC_ACCESS_TOKEN, CC_LEASE_MS. Exits 0 once no queued/running job is left.
 */
import { createCanvasClient } from '../../src/canvas/client.js';
import { createThrottleGovernor } from '../../src/canvas/governor.js';
import { createGradePostJob } from '../../src/grades/grade-post.js';
import { createGradeRepository } from '../../src/grades/grade-repository.js';
import { createInProcessRunner } from '../../src/jobs/in-process-runner.js';
import { createJobRepository } from '../../src/jobs/job-repository.js';
import { openStore } from '../../src/store/database.js';
import { createCourseRepository } from '../../src/sync/course-repository.js';

const store = openStore({ kind: 'sqlite', file: process.env.CC_DB_FILE! });
const token = process.env.CC_ACCESS_TOKEN!;
const repo = createJobRepository(store.db);
const def = createGradePostJob({
  grades: createGradeRepository(store.db),
  courses: createCourseRepository(store.db),
  clientFor: (s) => createCanvasClient({ baseUrl: s.canvasUrl, userAgent: 'cc-grade-worker', governor: createThrottleGovernor() }),
  tokenSourceFor: () => ({ current: async () => token, refresh: async () => token }),
  // Slow polls: the parent kills this process while it follows the Progress.
  progressPollDelaysMs: [300],
});
const runner = createInProcessRunner({ repo, definitions: [def], pollMs: 50, leaseMs: Number(process.env.CC_LEASE_MS ?? 1500) });
await runner.start();
process.stdout.write('ready\n');
const timer = setInterval(async () => {
  const open = (await repo.list({ limit: 50 })).filter((j) => j.state === 'queued' || j.state === 'running');
  if (open.length === 0) {
    clearInterval(timer);
    await runner.stop();
    await store.close();
    process.exit(0);
  }
}, 200);
