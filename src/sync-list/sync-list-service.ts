import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { Integration } from '../integrations/integration.js';
import type { Job } from '../jobs/types.js';
import { exportFile, type ExportFile } from './export-file.js';
import { fileProblem, readImportFile, sniffFormat, type FileRow, type SyncListFormat } from './import-file.js';
import type { CourseFact, ListedCourse, SyncListRepository } from './sync-list-repository.js';

export const IMPORT_MODES = ['add', 'remove', 'replace'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

/** What happened (or would happen) to one row of an import. */
export const ROW_OUTCOMES = ['added', 'removed', 'already_listed', 'not_listed'] as const;
/** Rows that stop an import from being applied unless errors are ignored. */
export const ROW_ERRORS = ['unknown_course', 'not_syncable', 'duplicate_row', 'blank'] as const;
export type RowOutcome = (typeof ROW_OUTCOMES)[number] | (typeof ROW_ERRORS)[number];

/** One row's outcome. `line` is the file's line (header = 1); null for a listed course a replace removes. */
export interface ImportRow {
  line: number | null;
  courseId: string | null;
  outcome: RowOutcome;
  /** The Canvas course the row matched, when it matched one. */
  canvasId?: string;
  /** The course's reasons, for `not_syncable`. */
  reasons?: string[];
}

export interface ImportSummary {
  mode: ImportMode;
  rows: number;
  added: number;
  removed: number;
  alreadyListed: number;
  notListed: number;
  errors: number;
  /** How many courses the list holds afterwards, would hold (a preview), or still holds (a refused import). */
  listed: number;
}

export interface ImportResult {
  applied: boolean;
  /** True for a preview. */
  dryRun: boolean;
  rows: ImportRow[];
  summary: ImportSummary;
}

export interface ImportOptions {
  mode: ImportMode;
  dryRun?: boolean;
  ignoreErrors?: boolean;
  /** The file's format; sniffed from its first bytes when absent. */
  format?: SyncListFormat;
}

/** An uploaded file waiting for "Apply" on the sync list page, with its preview. */
export interface PendingImport {
  id: string;
  mode: ImportMode;
  fileName: string;
  createdAt: string;
  appliedAt: string | null;
  /** The preview while pending; the applied outcome once applied. */
  result: ImportResult;
}

export interface ChangeResult {
  added: string[];
  removed: string[];
  errors: Array<{ canvasId: string; outcome: 'unknown_course' | 'not_syncable' | 'already_listed' | 'not_listed'; reasons?: string[] }>;
}

export interface SyncListDeps {
  repo: SyncListRepository;
  integrations: { get(id: string): Promise<Integration | undefined> };
  audit: AuditLog;
  /** Enqueues (or returns the active) `sync_list_sync` job of the integration. */
  startSync(integrationId: string): Promise<Job>;
  clock: () => Date;
}

/** How long an uploaded file waits for "Apply" before it is forgotten. */
const PENDING_IMPORT_MS = 24 * 60 * 60 * 1000;

/**
 * Decides every row of an import against the list and the last course refresh. Pure: the same
 * inputs give the same rows, so a preview shows exactly what applying does.
 * - Rows match courses by the integration's course ID type (the course's external id).
 * - add/replace: a listed course is `already_listed` (kept, even if it is no longer syncable);
 *   an unlisted course must be syncable (`not_syncable` with its reasons otherwise).
 * - remove: a listed course is `removed`, any other known course `not_listed`.
 * - replace: listed courses missing from the file end as `line: null` rows, `removed`.
 */
export function decideImport(
  mode: ImportMode,
  fileRows: FileRow[],
  listed: ReadonlySet<string>,
  courses: CourseFact[],
): { rows: ImportRow[]; add: string[]; remove: string[]; errors: number } {
  const byExternal = new Map<string, CourseFact>();
  for (const c of courses) if (c.externalId !== null && c.externalId !== '') byExternal.set(c.externalId, c);
  const seen = new Set<string>();
  const inFile = new Set<string>();
  const rows: ImportRow[] = [];
  const add: string[] = [];
  const remove: string[] = [];
  let errors = 0;
  for (const r of fileRows) {
    if (r.courseId === '') {
      rows.push({ line: r.line, courseId: '', outcome: 'blank' });
      errors++;
      continue;
    }
    if (seen.has(r.courseId)) {
      rows.push({ line: r.line, courseId: r.courseId, outcome: 'duplicate_row' });
      errors++;
      continue;
    }
    seen.add(r.courseId);
    const c = byExternal.get(r.courseId);
    if (!c) {
      rows.push({ line: r.line, courseId: r.courseId, outcome: 'unknown_course' });
      errors++;
      continue;
    }
    inFile.add(c.canvasId);
    const isListed = listed.has(c.canvasId);
    if (mode === 'remove') {
      rows.push({ line: r.line, courseId: r.courseId, canvasId: c.canvasId, outcome: isListed ? 'removed' : 'not_listed' });
      if (isListed) remove.push(c.canvasId);
      continue;
    }
    if (isListed) {
      rows.push({ line: r.line, courseId: r.courseId, canvasId: c.canvasId, outcome: 'already_listed' });
    } else if (!c.syncable) {
      rows.push({ line: r.line, courseId: r.courseId, canvasId: c.canvasId, outcome: 'not_syncable', reasons: c.reasons });
      errors++;
    } else {
      rows.push({ line: r.line, courseId: r.courseId, canvasId: c.canvasId, outcome: 'added' });
      add.push(c.canvasId);
    }
  }
  if (mode === 'replace') {
    const byCanvas = new Map(courses.map((c) => [c.canvasId, c]));
    for (const id of listed) {
      if (inFile.has(id)) continue;
      rows.push({ line: null, courseId: byCanvas.get(id)?.externalId ?? null, canvasId: id, outcome: 'removed' });
      remove.push(id);
    }
  }
  return { rows, add, remove, errors };
}

function summarize(mode: ImportMode, rows: ImportRow[], listedAfter: number): ImportSummary {
  const n = (o: RowOutcome) => rows.filter((r) => r.outcome === o).length;
  return {
    mode,
    rows: rows.filter((r) => r.line !== null).length,
    added: n('added'),
    removed: n('removed'),
    alreadyListed: n('already_listed'),
    notListed: n('not_listed'),
    errors: rows.filter((r) => (ROW_ERRORS as readonly string[]).includes(r.outcome)).length,
    listed: listedAfter,
  };
}

/**
 * The sync list: the courses of an integration the exam platform keeps in sync. One service for
 * the pages, the API and the CLI: list, add/remove by Canvas id, import (preview or apply,
 * atomic), export and template, the re-sync job, and the page's pending uploads. Every change is
 * recorded in the audit log here.
 */
export function createSyncListService(deps: SyncListDeps) {
  const { repo, audit, clock } = deps;

  async function integrationOf(id: string): Promise<Integration> {
    const i = await deps.integrations.get(id);
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  }

  async function runImport(integrationId: string, file: Buffer, opts: ImportOptions, actor: string): Promise<ImportResult> {
    await integrationOf(integrationId);
    const format = opts.format ?? sniffFormat(file);
    const fileRows = await readImportFile(file, format);
    const [listedIds, courses] = await Promise.all([repo.listedIds(integrationId), repo.courseFacts(integrationId)]);
    const listed = new Set(listedIds);
    const d = decideImport(opts.mode, fileRows, listed, courses);
    const listedAfter = listed.size + d.add.length - d.remove.length;
    const dryRun = opts.dryRun === true;
    const apply = !dryRun && (d.errors === 0 || opts.ignoreErrors === true);
    if (apply) {
      await repo.change(integrationId, { add: d.add, remove: d.remove }, actor, clock().toISOString());
      await audit.record({
        integrationId,
        actor,
        action: 'sync_list.imported',
        detail: { mode: opts.mode, format, rows: fileRows.length, added: d.add.length, removed: d.remove.length, errors: d.errors, ignoreErrors: opts.ignoreErrors === true },
      });
    }
    return { applied: apply, dryRun, rows: d.rows, summary: summarize(opts.mode, d.rows, apply || dryRun ? listedAfter : listed.size) };
  }

  function toPending(row: Awaited<ReturnType<SyncListRepository['getImport']>> & object, result: ImportResult): PendingImport {
    return { id: row.id, mode: row.mode as ImportMode, fileName: row.file_name, createdAt: row.created_at, appliedAt: row.applied_at, result };
  }

  async function pending(integrationId: string, id: string, actor: string): Promise<PendingImport> {
    const row = await repo.getImport(integrationId, id);
    if (!row) throw new AppError('not_found', 'This import is no longer available: upload the file again.');
    if (row.result) return toPending(row, JSON.parse(row.result) as ImportResult);
    const preview = await runImport(integrationId, Buffer.from(row.content_base64, 'base64'), { mode: row.mode as ImportMode, dryRun: true, format: row.format as SyncListFormat }, actor);
    return toPending(row, preview);
  }

  return {
    /** One page of the list with each course's facts and counts. @throws AppError not_found */
    async list(integrationId: string, opts: { cursor?: string; limit?: number } = {}): Promise<{ courses: ListedCourse[]; nextCursor: string | null; total: number }> {
      await integrationOf(integrationId);
      const [page, total] = await Promise.all([repo.page(integrationId, opts), repo.count(integrationId)]);
      return { ...page, total };
    },

    /**
     * Adds and removes courses by Canvas id. Valid ids are applied together; each refused id is
     * listed with why (unknown_course: not in the last refresh, not_syncable with reasons,
     * already_listed, not_listed).
     * @throws AppError not_found
     */
    async change(integrationId: string, input: { add?: string[]; remove?: string[] }, actor: string): Promise<ChangeResult> {
      await integrationOf(integrationId);
      const addIds = [...new Set((input.add ?? []).map(String))];
      const removeIds = [...new Set((input.remove ?? []).map(String))];
      const listed = new Set(await repo.listedIds(integrationId));
      const facts = await repo.coursesById(integrationId, addIds);
      const out: ChangeResult = { added: [], removed: [], errors: [] };
      for (const id of addIds) {
        const c = facts.get(id);
        if (listed.has(id)) out.errors.push({ canvasId: id, outcome: 'already_listed' });
        else if (!c) out.errors.push({ canvasId: id, outcome: 'unknown_course' });
        else if (!c.syncable) out.errors.push({ canvasId: id, outcome: 'not_syncable', reasons: c.reasons });
        else out.added.push(id);
      }
      for (const id of removeIds) {
        if (listed.has(id)) out.removed.push(id);
        else out.errors.push({ canvasId: id, outcome: 'not_listed' });
      }
      if (out.added.length || out.removed.length) {
        await repo.change(integrationId, { add: out.added, remove: out.removed }, actor, clock().toISOString());
        await audit.record({ integrationId, actor, action: 'sync_list.changed', detail: { added: out.added.slice(0, 100), removed: out.removed.slice(0, 100), addedCount: out.added.length, removedCount: out.removed.length } });
      }
      return out;
    },

    /**
     * Imports a CSV or XLSX file: previews (`dryRun`) or applies atomically. With any row in error
     * and without `ignoreErrors`, nothing changes and `applied` is false (the API answers 422).
     * @throws AppError not_found, validation_failed (400: the file is too large, has too many
     *   rows, has no course_id header, or cannot be read)
     */
    import: runImport,

    /** The list as a CSV or XLSX file (or the empty template), streamed. @throws AppError not_found */
    async export(integrationId: string, opts: { format: SyncListFormat; template?: boolean }): Promise<ExportFile & { body: Readable }> {
      const i = await integrationOf(integrationId);
      const courses = opts.template ? [] : await repo.all(integrationId);
      return exportFile(courses, { format: opts.format, template: opts.template === true, name: i.name });
    },

    /** Starts a re-sync of every listed course (or returns the one already queued or running). @throws AppError not_found */
    async startSync(integrationId: string, actor: string): Promise<Job> {
      await integrationOf(integrationId);
      const job = await deps.startSync(integrationId);
      await audit.record({ integrationId, actor, action: 'sync_list.sync_started', detail: { jobId: job.id } });
      return job;
    },

    /**
     * Keeps an uploaded file for the page's preview → Apply, and returns it with its preview.
     * @throws AppError not_found, validation_failed (the file's problem, as for {@link import})
     */
    async upload(integrationId: string, file: Buffer, opts: { mode: ImportMode; fileName: string }, actor: string): Promise<PendingImport> {
      const format = sniffFormat(file);
      const preview = await runImport(integrationId, file, { mode: opts.mode, dryRun: true, format }, actor);
      const now = clock();
      await repo.dropStaleImports(new Date(now.getTime() - PENDING_IMPORT_MS).toISOString());
      const row = {
        id: randomUUID(),
        integration_id: integrationId,
        mode: opts.mode,
        format,
        file_name: opts.fileName.slice(0, 200),
        content_base64: file.toString('base64'),
        created_by: actor,
        created_at: now.toISOString(),
        applied_at: null,
        result: null,
      };
      await repo.saveImport(row);
      return toPending(row, preview);
    },

    /** A pending upload with a fresh preview, or its applied outcome. @throws AppError not_found */
    pending,

    /**
     * Applies a pending upload once: a second Apply (a reload, a double click) returns the first
     * outcome. With errors and without `ignoreErrors` nothing changes and the upload stays pending.
     * @throws AppError not_found
     */
    async applyPending(integrationId: string, id: string, opts: { ignoreErrors: boolean }, actor: string): Promise<PendingImport> {
      const row = await repo.getImport(integrationId, id);
      if (!row) throw new AppError('not_found', 'This import is no longer available: upload the file again.');
      if (!(await repo.claimImport(integrationId, id, clock().toISOString()))) return pending(integrationId, id, actor);
      let result: ImportResult;
      try {
        result = await runImport(integrationId, Buffer.from(row.content_base64, 'base64'), { mode: row.mode as ImportMode, ignoreErrors: opts.ignoreErrors, format: row.format as SyncListFormat }, actor);
      } catch (err) {
        await repo.releaseImport(integrationId, id);
        throw err;
      }
      if (!result.applied) {
        await repo.releaseImport(integrationId, id);
        return toPending({ ...row, applied_at: null }, result);
      }
      await repo.saveImportResult(integrationId, id, JSON.stringify(result));
      return toPending({ ...row, applied_at: clock().toISOString() }, result);
    },
  };
}

export type SyncListService = ReturnType<typeof createSyncListService>;

export { fileProblem };
