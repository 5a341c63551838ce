import type { ListedCourse } from '../../sync-list/sync-list-repository.js';
import type { ImportResult, ImportRow, PendingImport } from '../../sync-list/sync-list-service.js';

/** A listed course as the API returns it (counts, not people). */
export function presentListedCourse(c: ListedCourse) {
  return {
    canvasId: c.canvasId,
    externalId: c.externalId,
    name: c.name,
    addedAt: c.addedAt,
    lastSyncedAt: c.lastSyncedAt,
    examTakers: c.examTakers,
    courseAdmins: c.courseAdmins,
  };
}

/** An import's answer: whether it was applied, every row's outcome and the summary. */
export function presentImport(r: ImportResult) {
  return {
    applied: r.applied,
    dryRun: r.dryRun,
    rows: r.rows.map((row) => ({
      line: row.line,
      courseId: row.courseId,
      outcome: row.outcome,
      ...(row.canvasId !== undefined ? { canvasId: row.canvasId } : {}),
      ...(row.reasons ? { reasons: row.reasons } : {}),
    })),
    summary: r.summary,
  };
}

/** What each row outcome says on the page. */
export const OUTCOME_TEXT: Record<ImportRow['outcome'], { text: string; error: boolean }> = {
  added: { text: 'Added', error: false },
  removed: { text: 'Removed', error: false },
  already_listed: { text: 'Already on the list', error: false },
  not_listed: { text: 'Not on the list', error: false },
  unknown_course: { text: 'Unknown course: not in the last course refresh', error: true },
  not_syncable: { text: 'Not syncable', error: true },
  duplicate_row: { text: 'Duplicate: the same course id is on an earlier line', error: true },
  blank: { text: 'Blank: no course id on this line', error: true },
};

/** The page's view of a pending or applied upload. */
export function presentPendingImport(p: PendingImport) {
  return {
    id: p.id,
    mode: p.mode,
    fileName: p.fileName,
    createdAt: p.createdAt,
    appliedAt: p.appliedAt,
    applied: p.result.applied,
    dryRun: p.result.dryRun,
    summary: p.result.summary,
    rows: p.result.rows.map((r) => ({
      line: r.line === null ? '—' : String(r.line),
      courseId: r.courseId ?? '',
      canvasId: r.canvasId ?? '',
      outcome: r.outcome,
      text: OUTCOME_TEXT[r.outcome].text,
      error: OUTCOME_TEXT[r.outcome].error,
      reasons: (r.reasons ?? []).join(', '),
    })),
  };
}
