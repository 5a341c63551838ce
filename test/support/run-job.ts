import { createInProcessRunner } from '../../src/jobs/in-process-runner.js';
import { createJobRepository } from '../../src/jobs/job-repository.js';
import type { Job, JobDefinition, JobKind, JobParams } from '../../src/jobs/types.js';
import type { Store } from '../../src/store/database.js';

/** Enqueues one job on a throwaway in-process runner and waits for its end state. */
export async function runJob<K extends JobKind>(
  store: Store,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  def: JobDefinition<K, any>,
  integrationId: string,
  params: JobParams<K> = {} as JobParams<K>,
  timeoutMs = 30_000,
): Promise<Job> {
  const repo = createJobRepository(store.db);
  const runner = createInProcessRunner({ repo, definitions: [def], pollMs: 10, leaseMs: 5000 });
  await runner.start();
  try {
    const job = await runner.enqueue(def.kind, integrationId, params);
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
