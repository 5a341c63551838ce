import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLUSTER_API_TOKEN, startCluster, until, type Cluster, type Instance } from '../../support/instances.js';

/**
 * Several real instances (child processes of `src/main.ts`) on one fresh Postgres database, as
 * deployed behind a load balancer, with the Canvas sandbox in this process. Each scenario prints one
 * line with its timings. Kept small for a 2-core CI box: 3 instances, a 300-course world whose
 * answers take 60 ms, so a REST refresh lasts a few seconds and can be interrupted.
 *
 * More scenarios (two refresh requests through two instances, a lookup and a roster sync during a
 * refresh) are a few lines each with the helpers of test/support/instances.ts.
 */
const baseUrl = process.env.TEST_DATABASE_URL;

/** One GET on a fresh connection: the status as text, or the error code (ECONNREFUSED, ECONNRESET…). */
function getFresh(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}
const report = (line: string) => process.stdout.write(`[cluster] ${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** The first error line an instance printed (for the report), e.g. a SequelizeUniqueConstraintError from ltijs's table creation. */
const whyExited = (i: Instance) => {
  const out = i.output();
  const said = /canvas-companion (?:failed to start|stopped during start-up)[^\n]*/.exec(out)?.[0];
  if (said) return said;
  const name = /name: '([A-Za-z]+Error)'/.exec(out)?.[1];
  const detail = /"message":"([^"]+)"|message: '([^']+)'/.exec(out);
  return [name, detail?.[1] ?? detail?.[2], /Error during deployment/.test(out) ? '(ltijs deployment)' : undefined].filter(Boolean).join(' ') || out.slice(-300);
};

// Without Postgres (a developer's `npm test` with no TEST_DATABASE_URL) this suite is listed as a todo; CI sets the URL.
if (!baseUrl) describe('several instances on one Postgres database', () => it.todo('runs when TEST_DATABASE_URL=postgres://… is set'));

if (baseUrl)
  describe('several instances on one Postgres database', () => {
    let cluster: Cluster;
    let integrationId: string;
    let reference: { courses: number; syncable: number; sections: number };
    beforeAll(async () => {
      cluster = await startCluster(baseUrl, { courses: 300, latencyMs: 60 });
    });
    afterAll(async () => {
      await cluster?.close();
    });
    const alive = () => cluster.instances.filter((i) => i.alive());
    /** A refresh running through `via` that has made progress, and the instance running it. */
    const refreshUnderway = async (via: Instance) => {
      const jobId = await cluster.startRefresh(via, integrationId);
      const owner = await until('the refresh is running with progress', async () => {
        const j = await cluster.job(jobId);
        return j?.state === 'running' && j.done > 0 ? cluster.owner(jobId) : undefined;
      });
      return { jobId, owner };
    };
    const expectSameResult = async (jobId: string) => {
      const j = await cluster.waitJob(jobId, ['succeeded', 'failed', 'cancelled']);
      expect({ state: j.state, error: j.error_code }).toEqual({ state: 'succeeded', error: null });
      expect(await cluster.courseCounts(integrationId)).toEqual(reference);
      return j;
    };

    it('three instances started at once on an empty database all become ready', async () => {
      const t0 = Date.now();
      const started = ['A', 'B', 'C'].map((n) => cluster.start(n));
      const outcomes = await Promise.allSettled(started.map((i) => cluster.ready(i)));
      const failed = outcomes.flatMap((o, k) => (o.status === 'rejected' ? [`${started[k]!.name} exited ${started[k]!.child.exitCode}: ${whyExited(started[k]!)}`] : []));
      report(`concurrent start: ${started.length - failed.length}/3 ready in ${secs(Date.now() - t0)}${failed.length ? `; ${failed.join(' | ')}` : ''}`);
      // An instance that cannot start says so with a non-zero exit (a supervisor restarts it)...
      expect(started.filter((i) => !i.alive()).map((i) => [i.name, i.child.exitCode === 0 ? 'exited 0' : 'failed'])).toEqual(
        started.filter((i) => !i.alive()).map((i) => [i.name, 'failed']),
      );
      // ...and none has a reason to: all three come up.
      expect(failed).toEqual([]);
    }, 180_000);

    it('baseline: with three instances up, an uninterrupted refresh gives the counts every disrupted one must reproduce', async () => {
      const t0 = Date.now();
      // An instance that did not survive the concurrent start is started again (alone) so the later scenarios still run.
      for (const dead of cluster.instances.filter((i) => !i.alive())) {
        const again = cluster.start(`${dead.name}2`);
        await cluster.ready(again);
      }
      const up = alive();
      expect(up.length).toBe(3);
      integrationId = await cluster.connectIntegration(up[0]!);
      const jobId = await cluster.startRefresh(up[1]!, integrationId);
      const j = await cluster.waitJob(jobId, ['succeeded', 'failed']);
      expect(j.state).toBe('succeeded');
      reference = await cluster.courseCounts(integrationId);
      expect(reference.courses).toBe(cluster.sandbox.state.world.courses.length);
      report(`baseline refresh: ${reference.courses} courses (${reference.syncable} syncable), ${reference.sections} sections in ${secs(Date.now() - t0)}`);
    }, 180_000);

    it('two refresh requests through two instances at the same moment get one job, and the course list stays whole', async () => {
      const t0 = Date.now();
      const [a, b] = alive();
      const answers = await Promise.all([a, b, a, b].map((i) => cluster.api(i!, 'POST', `/api/v1/integrations/${integrationId}/course-refresh`, { path: 'rest' })));
      expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202]);
      const ids = [...new Set(answers.map((r) => String(r.body.id)))];
      expect(ids).toHaveLength(1);
      const j = await expectSameResult(ids[0]!);
      report(`two instances asked for a refresh 4 times at once: 1 job (${ids[0]}), ${j.attempts} attempt(s), same counts, in ${secs(Date.now() - t0)}`);
    }, 180_000);

    it('a lookup and a roster sync through other instances during a refresh: both complete, their rows survive, the refresh keeps its result', async () => {
      const t0 = Date.now();
      const { jobId, owner } = await refreshUnderway(alive()[0]!);
      const others = alive().filter((i) => i !== owner);
      const via = others[0] ?? alive()[0]!;
      // A syncable course among the first ones, found by lookups through another instance.
      let course: { canvasId: string; syncable: boolean } | undefined;
      for (const query of ['1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008']) {
        const r = await cluster.api(via, 'POST', `/api/v1/integrations/${integrationId}/courses/lookup`, { query });
        expect(r.status).toBe(200);
        if (r.body.syncable) {
          course = r.body;
          break;
        }
      }
      expect(course).toBeDefined();
      const sync = await cluster.api(others[1] ?? via, 'POST', `/api/v1/integrations/${integrationId}/courses/${course!.canvasId}/sync`, {});
      expect(sync.status).toBe(202);
      const synced = await cluster.waitJob(String(sync.body.id), ['succeeded', 'failed']);
      expect({ state: synced.state, error: synced.error_code }).toEqual({ state: 'succeeded', error: null });
      await expectSameResult(jobId);
      const roster = await cluster.api(via, 'GET', `/api/v1/integrations/${integrationId}/courses/${course!.canvasId}/roster`);
      expect(roster.status).toBe(200);
      expect(roster.body.examTakers.length + roster.body.skipped.length).toBeGreaterThan(0);
      report(
        `lookup and roster sync of course ${course!.canvasId} during a refresh (on ${owner?.name ?? '?'}): sync succeeded with ${roster.body.examTakers.length} exam-takers kept, refresh kept its counts, in ${secs(Date.now() - t0)}`,
      );
    }, 180_000);

    it('every database connection ended mid-refresh, then the database away for a while: all instances stay up, /readyz goes 503 then 200, the refresh completes with the same result', async () => {
      const t0 = Date.now();
      const { jobId } = await refreshUnderway(alive()[0]!);
      const terminated = await cluster.terminateBackends();
      // Then a real outage: every connection through the proxy is cut and new ones are refused.
      cluster.proxy.cut();
      const tCut = Date.now();
      await until('every instance answers /readyz 503', async () => (await Promise.all(alive().map((i) => cluster.readyz(i)))).every((s) => s === 503), 20_000);
      const saw503 = Date.now() - tCut;
      cluster.proxy.restore();
      const tBack = Date.now();
      await until('every instance answers /readyz 200 again', async () => (await Promise.all(alive().map((i) => cluster.readyz(i)))).every((s) => s === 200), 30_000);
      const back200 = Date.now() - tBack;
      const j = await expectSameResult(jobId);
      expect(alive().length).toBe(3);
      report(
        `connections lost mid-refresh: ${terminated} backends terminated, then the proxy cut; /readyz 503 on all after ${secs(saw503)}, 200 again ${secs(back200)} after restore; refresh succeeded (attempts ${j.attempts}) in ${secs(Date.now() - t0)}; 3/3 instances up`,
      );
    }, 180_000);

    it('kill -9 of the instance running a refresh: another instance resumes it from its checkpoint with the same result', async () => {
      const t0 = Date.now();
      const via = alive()[0]!;
      const { jobId, owner } = await refreshUnderway(via);
      expect(owner).toBeDefined();
      const doneAtKill = (await cluster.job(jobId))!.done;
      owner!.child.kill('SIGKILL');
      await owner!.exited;
      const tKill = Date.now();
      const next = await until('another instance runs the job', async () => {
        const o = await cluster.owner(jobId);
        return o && o !== owner ? o : undefined;
      }, 90_000);
      const takeover = Date.now() - tKill;
      const j = await expectSameResult(jobId);
      expect(j.attempts).toBeGreaterThanOrEqual(2);
      report(`kill -9 of ${owner!.name} at ${doneAtKill} done: ${next.name} took the job over after ${secs(takeover)} (lease expiry), succeeded with the same counts in ${secs(Date.now() - t0)}`);
    }, 180_000);

    it('SIGTERM of the instance running a refresh: the job is released and taken over at once, in-flight requests complete, the process exits 0', async () => {
      const t0 = Date.now();
      // Bring the cluster back to three instances.
      const d = cluster.start('D');
      await cluster.ready(d);
      const { jobId, owner } = await refreshUnderway(alive()[0]!);
      expect(owner).toBeDefined();
      // Requests that are in flight when the signal comes: lookups waiting on Canvas (the sandbox has received them).
      const key = 'GET /api/v1/courses/:id';
      const seen = () => cluster.sandbox.control.counters().requests[key] ?? 0;
      const before = seen();
      const lookups = ['1001', '1002', '1003', '1004', '1005', '1006'].map((query) =>
        cluster.api(owner!, 'POST', `/api/v1/integrations/${integrationId}/courses/lookup`, { query }).then(
          (r) => String(r.status),
          (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
        ),
      );
      await until('the lookups are in flight (Canvas has received them)', () => seen() - before >= lookups.length);
      const tTerm = Date.now();
      owner!.child.kill('SIGTERM');
      const next = await until('another instance runs the job', async () => {
        const o = await cluster.owner(jobId);
        return o && o !== owner ? o : undefined;
      }, 60_000);
      const takeover = Date.now() - tTerm;
      const code = await owner!.exited;
      const exitedAfter = Date.now() - tTerm;
      const outcomes = await Promise.all(lookups);
      expect(code).toBe(0);
      expect(outcomes).toEqual(lookups.map(() => '200')); // every in-flight request answered, none cut
      expect(await getFresh(`${owner!.url}/healthz`, {})).toBe('ECONNREFUSED'); // and the instance is gone
      const j = await expectSameResult(jobId);
      expect(j.attempts).toBe(2);
      report(
        `SIGTERM of ${owner!.name}: job handed to ${next.name} after ${secs(takeover)}, process exited 0 after ${secs(exitedAfter)}, ${outcomes.length}/${outcomes.length} in-flight requests (lookups waiting on Canvas) answered 200; refresh succeeded in ${secs(Date.now() - t0)}`,
      );
    }, 180_000);
  });
