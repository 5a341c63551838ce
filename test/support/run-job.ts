import { createInProcessRunner } from '../../src/jobs/in-process-runner.js';
import { createJobRepository } from '../../src/jobs/job-repository.js';
import type { AnyJobDefinition, Job, JobKind } from '../../src/jobs/types.js';
import type { Store } from '../../src/store/database.js';

/** Enqueues one job on a throwaway in-process runner and waits for its end state. */
export async function runJob(store: Store, def: AnyJobDefinition, integrationId: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Job> {
  const repo = createJobRepository(store.db);
  const runner = createInProcessRunner({ repo, definitions: [def], pollMs: 10, leaseMs: 5000 });
  await runner.start();
  try {
    const job = await runner.enqueue(def.kind as JobKind, integrationId, params);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const j = (await repo.get(job.id))!;
      if (['succeeded', 'failed', 'cancelled'].includes(j.state)) return j;
      if (Date.now() > end) throw new Error(`job ${job.id} still ${j.state} (${j.progress.phase} ${j.progress.done})`);
      await new Promise((r) => setTimeout(r, 15));
    }
  } finally {
    await runner.stop();
  }
}
