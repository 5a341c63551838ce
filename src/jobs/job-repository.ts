import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, JobsTable } from '../store/schema.js';
import { dedupeKeyFor, type JobParams } from './job-kinds.js';
import type { Job, JobKind, JobProgress, JobState } from './types.js';

export type JobRow = Selectable<JobsTable>;

/** Turns a `jobs` row into the API's job shape (params/summary parsed, error folded). */
export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind as JobKind,
    integrationId: row.integration_id,
    state: row.state as JobState,
    params: JSON.parse(row.params) as Record<string, unknown>,
    progress: { phase: row.phase, done: Number(row.done), total: row.total === null ? null : Number(row.total) },
    etaSeconds: row.eta_seconds === null ? null : Number(row.eta_seconds),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    summary: row.summary ? (JSON.parse(row.summary) as Record<string, unknown>) : null,
    attempts: Number(row.attempts),
  };
}

export interface JobRepository {
  /** Inserts a queued job, or returns the same work's job that is already queued or running. */
  create<K extends JobKind>(kind: K, integrationId: string, params: JobParams<K>): Promise<Job>;
  /**
   * Like {@link JobRepository.create}, and says whether the job is new. Atomic across requests and
   * instances (a unique index decides): of two callers racing, exactly one creates the job and
   * both get it.
   */
  createUnlessActive<K extends JobKind>(kind: K, integrationId: string, params: JobParams<K>): Promise<{ job: Job; created: boolean }>;
  get(id: string): Promise<Job | undefined>;
  getRow(id: string): Promise<JobRow | undefined>;
  list(filter?: { integrationId?: string; kind?: JobKind; limit?: number }): Promise<Job[]>;
  /** The newest job of a kind for an integration (e.g. the last refresh), if any. */
  latest(integrationId: string, kind: JobKind): Promise<Job | undefined>;
  /** The newest queued or running job of a kind for an integration, if any (avoids duplicate refreshes). */
  active(integrationId: string, kind: JobKind): Promise<Job | undefined>;
  /**
   * Takes the lease on one job if it is queued, or running under a lease that expired (its
   * process died). Atomic: of two callers exactly one wins. Returns the claimed row.
   */
  claim(id: string, owner: string, leaseMs: number): Promise<JobRow | undefined>;
  /** Claims the oldest claimable job of the given kinds. */
  /**
   * Claims the oldest queued job, or a running one whose lease expired. `runningHere` lists the jobs
   * this process already runs: a late heartbeat must not let it claim its own job a second time.
   */
  claimNext(owner: string, leaseMs: number, kinds: readonly JobKind[], runningHere?: readonly string[]): Promise<JobRow | undefined>;
  /** Ids of running jobs whose lease expired (a process died holding them). */
  orphaned(): Promise<string[]>;
  /** Extends the lease; says whether we still hold it and whether a cancel was requested. */
  heartbeat(id: string, owner: string, leaseMs: number): Promise<{ held: boolean; cancelRequested: boolean }>;
  progress(id: string, owner: string, progress: JobProgress, etaSeconds: number | null): Promise<void>;
  checkpoint(id: string, owner: string, checkpoint: unknown, progress: JobProgress | undefined, etaSeconds: number | null): Promise<void>;
  finish(
    id: string,
    owner: string,
    outcome: { state: 'succeeded' | 'failed' | 'cancelled'; summary?: Record<string, unknown> | null; error?: { code: string; message: string } | null },
  ): Promise<void>;
  /** Gives the job back (shutdown): queued again, lease cleared, checkpoint kept. */
  release(id: string, owner: string): Promise<void>;
  /** Queued → cancelled at once; running → cancel_requested. Returns the job after the change. */
  requestCancel(id: string): Promise<Job | undefined>;
}

/** Repository over the `jobs` table; portable SQL for SQLite and Postgres. */
export function createJobRepository(db: Kysely<Database>, clock: () => Date = () => new Date()): JobRepository {
  const now = () => clock().toISOString();
  const plus = (ms: number) => new Date(clock().getTime() + ms).toISOString();

  const getRow = (id: string) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();

  const newRow = (kind: JobKind, integrationId: string, params: object, key: string): JobRow => {
    const t = now();
    const row: JobRow = {
      id: randomUUID(),
      kind,
      integration_id: integrationId,
      state: 'queued',
      params: JSON.stringify(params),
      phase: 'queued',
      done: 0,
      total: null,
      eta_seconds: null,
      checkpoint: null,
      summary: null,
      error_code: null,
      error_message: null,
      cancel_requested: 0,
      lease_owner: null,
      lease_expires_at: null,
      attempts: 0,
      created_at: t,
      started_at: null,
      finished_at: null,
      updated_at: t,
      dedupe_key: key,
    };
    return row;
  };

  const repo: JobRepository = {
    async create(kind, integrationId, params) {
      return (await repo.createUnlessActive(kind, integrationId, params)).job;
    },

    async createUnlessActive(kind, integrationId, params) {
      const key = dedupeKeyFor(kind, params);
      // A conflict with a job that ended right after the insert leaves nothing to return: try again.
      for (let tries = 0; tries < 5; tries++) {
        const row = newRow(kind, integrationId, params, key);
        const res = await db.insertInto('jobs').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
        if (Number(res.numInsertedOrUpdatedRows ?? 0) === 1) return { job: toJob(row), created: true };
        const active = await db
          .selectFrom('jobs')
          .selectAll()
          .where('integration_id', '=', integrationId)
          .where('kind', '=', kind)
          .where('dedupe_key', '=', key)
          .where('state', 'in', ['queued', 'running'])
          .executeTakeFirst();
        if (active) return { job: toJob(active), created: false };
      }
      throw new Error(`Could not create a ${kind} job for ${integrationId}: the active one kept changing`);
    },

    async get(id) {
      const row = await getRow(id);
      return row ? toJob(row) : undefined;
    },

    getRow,

    async list(filter = {}) {
      let q = db.selectFrom('jobs').selectAll();
      if (filter.integrationId) q = q.where('integration_id', '=', filter.integrationId);
      if (filter.kind) q = q.where('kind', '=', filter.kind);
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(filter.limit ?? 50)
        .execute();
      return rows.map(toJob);
    },

    async latest(integrationId, kind) {
      const row = await db
        .selectFrom('jobs')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('kind', '=', kind)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toJob(row) : undefined;
    },

    async active(integrationId, kind) {
      const row = await db
        .selectFrom('jobs')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('kind', '=', kind)
        .where('state', 'in', ['queued', 'running'])
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toJob(row) : undefined;
    },

    async claim(id, owner, leaseMs) {
      const t = now();
      const res = await db
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running',
          lease_owner: owner,
          lease_expires_at: plus(leaseMs),
          attempts: eb('attempts', '+', 1),
          started_at: eb.fn.coalesce('started_at', eb.val(t)),
          updated_at: t,
        }))
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('state', '=', 'queued'),
            eb.and([eb('state', '=', 'running'), eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', t)])]),
          ]),
        )
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      const row = await getRow(id);
      return row && row.lease_owner === owner ? row : undefined;
    },

    async claimNext(owner, leaseMs, kinds, runningHere = []) {
      const t = now();
      let query = db.selectFrom('jobs').select('id').where('kind', 'in', [...kinds]);
      if (runningHere.length > 0) query = query.where('id', 'not in', [...runningHere]);
      const candidates = await query
        .where((eb) =>
          eb.or([
            eb('state', '=', 'queued'),
            eb.and([eb('state', '=', 'running'), eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', t)])]),
          ]),
        )
        .orderBy('created_at')
        .limit(5)
        .execute();
      for (const c of candidates) {
        const row = await repo.claim(c.id, owner, leaseMs);
        if (row) return row;
      }
      return undefined;
    },

    async orphaned() {
      const rows = await db
        .selectFrom('jobs')
        .select('id')
        .where('state', '=', 'running')
        .where('lease_expires_at', '<', now())
        .execute();
      return rows.map((r) => r.id);
    },

    async heartbeat(id, owner, leaseMs) {
      const res = await db
        .updateTable('jobs')
        .set({ lease_expires_at: plus(leaseMs), updated_at: now() })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('state', '=', 'running')
        .executeTakeFirst();
      const row = await db.selectFrom('jobs').select('cancel_requested').where('id', '=', id).executeTakeFirst();
      return { held: Number(res.numUpdatedRows) === 1, cancelRequested: Number(row?.cancel_requested ?? 0) === 1 };
    },

    async progress(id, owner, p, eta) {
      await db
        .updateTable('jobs')
        .set({ phase: p.phase, done: p.done, total: p.total, eta_seconds: eta, updated_at: now() })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    async checkpoint(id, owner, cp, p, eta) {
      const res = await db
        .updateTable('jobs')
        .set({
          checkpoint: JSON.stringify(cp),
          ...(p ? { phase: p.phase, done: p.done, total: p.total, eta_seconds: eta } : {}),
          updated_at: now(),
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('state', '=', 'running')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new LeaseLostError(id);
    },

    async finish(id, owner, outcome) {
      const t = now();
      await db
        .updateTable('jobs')
        .set({
          state: outcome.state,
          summary: outcome.summary ? JSON.stringify(outcome.summary) : null,
          error_code: outcome.error?.code ?? null,
          error_message: outcome.error?.message ?? null,
          phase: outcome.state,
          eta_seconds: null,
          lease_owner: null,
          lease_expires_at: null,
          finished_at: t,
          updated_at: t,
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    },

    async release(id, owner) {
      await db
        .updateTable('jobs')
        .set({ state: 'queued', lease_owner: null, lease_expires_at: null, eta_seconds: null, updated_at: now() })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('state', '=', 'running')
        .execute();
    },

    async requestCancel(id) {
      const t = now();
      await db
        .updateTable('jobs')
        .set({ state: 'cancelled', phase: 'cancelled', finished_at: t, updated_at: t, cancel_requested: 1 })
        .where('id', '=', id)
        .where('state', '=', 'queued')
        .execute();
      await db
        .updateTable('jobs')
        .set({ cancel_requested: 1, updated_at: t })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .execute();
      return repo.get(id);
    },
  };
  return repo;
}

/** Thrown when a job's lease was taken over (this process was presumed dead): stop without writing. */
export class LeaseLostError extends Error {
  constructor(readonly jobId: string) {
    super(`Lease on job ${jobId} was lost`);
    this.name = 'LeaseLostError';
  }
}
