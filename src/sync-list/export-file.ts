import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { COURSE_ID_HEADER, CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, type SyncListFormat } from './import-file.js';
import type { ListedCourse } from './sync-list-repository.js';

/** The export's columns, in order. The first is what an import reads back. */
export const EXPORT_COLUMNS = [
  COURSE_ID_HEADER,
  'canvas_id',
  'name',
  'course_code',
  'term',
  'start_at',
  'end_at',
  'department',
  'syncable',
  'reasons',
  'exam_takers',
  'course_admins',
  'last_synced_at',
] as const;

export interface ExportFile {
  contentType: string;
  fileName: string;
}

/** One listed course as export cells (numbers stay numbers for XLSX; CSV prints them). */
function cells(c: ListedCourse): Array<string | number> {
  return [
    c.externalId ?? '',
    c.canvasId,
    c.name ?? '',
    c.courseCode ?? '',
    c.term ?? '',
    c.startAt ?? '',
    c.endAt ?? '',
    c.department ?? '',
    c.syncable ? 'true' : 'false',
    c.reasons.join(';'),
    c.examTakers,
    c.courseAdmins,
    c.lastSyncedAt ?? '',
  ];
}

/** Columns whose text comes from Canvas users (names) and could be read as a formula by a spreadsheet. */
const FREE_TEXT = new Set([2, 3, 4, 7]);

/**
 * A CSV cell: quoted when it holds a comma, quote or line break; free text starting with = + - @
 * is prefixed with ' so a spreadsheet does not run it as a formula (CSV injection).
 */
function csvCell(v: string | number, column: number): string {
  let s = String(v);
  if (FREE_TEXT.has(column) && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'integration';
}

/**
 * The sync list (or the empty template: the header row only) as a CSV or XLSX stream. XLSX is
 * written with exceljs's streaming writer, row by row, so a large list is never a whole workbook
 * in memory. Course ids are written as text so a spreadsheet keeps leading zeros.
 */
export function exportFile(courses: ListedCourse[], opts: { format: SyncListFormat; template: boolean; name: string }): ExportFile & { body: Readable } {
  const base = opts.template ? 'sync-list-template' : `sync-list-${slug(opts.name)}`;
  const header: readonly string[] = opts.template ? [COURSE_ID_HEADER] : EXPORT_COLUMNS;
  if (opts.format === 'csv') {
    function* lines(): Generator<string> {
      yield `${header.join(',')}\r\n`;
      for (const c of courses) yield `${cells(c).map(csvCell).join(',')}\r\n`;
    }
    return { contentType: `${CSV_MEDIA_TYPE}; charset=utf-8`, fileName: `${base}.csv`, body: Readable.from(lines()) };
  }
  const out = new PassThrough();
  const write = async () => {
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
    const ws = wb.addWorksheet('Sync list');
    ws.addRow([...header]).commit();
    for (const c of courses) {
      // Ids are strings, so they are written as text: "00123" stays "00123".
      ws.addRow(cells(c)).commit();
    }
    ws.commit();
    await wb.commit();
  };
  write().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return { contentType: XLSX_MEDIA_TYPE, fileName: `${base}.xlsx`, body: out };
}
