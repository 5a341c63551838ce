import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { unzipSync } from 'fflate';
import { AppError } from '../errors/app-error.js';

/** The file formats of the sync list's import and export. */
export const SYNC_LIST_FORMATS = ['csv', 'xlsx'] as const;
export type SyncListFormat = (typeof SYNC_LIST_FORMATS)[number];

export const CSV_MEDIA_TYPE = 'text/csv';
export const XLSX_MEDIA_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The largest import file (bytes). */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
/** The most data rows (the header not counted) an import may have. */
export const MAX_IMPORT_ROWS = 50_000;

/** The header of the column that holds the course ids. */
export const COURSE_ID_HEADER = 'course_id';

/** One data row of an import file: its line (the header is line 1) and its trimmed course id ('' when blank). */
export interface FileRow {
  line: number;
  courseId: string;
}

export type ImportFileProblem = 'too_large' | 'too_many_rows' | 'missing_course_id' | 'unreadable' | 'empty';

/** A 400 naming what is wrong with the file. */
export function fileProblem(problem: ImportFileProblem, message: string, cause?: unknown): AppError {
  return new AppError('validation_failed', `file: ${message}`, {
    details: { field: 'file', problem },
    cause,
    help: `The file must be CSV or XLSX (at most 10 MB and ${MAX_IMPORT_ROWS.toLocaleString('en')} rows), with a header row that has a "${COURSE_ID_HEADER}" column. Download the template for an example.`,
  });
}

/** The format of an upload: XLSX files are ZIP archives ("PK\x03\x04"); anything else is read as CSV. */
export function sniffFormat(file: Buffer): SyncListFormat {
  return file.length >= 4 && file[0] === 0x50 && file[1] === 0x4b && file[2] === 0x03 && file[3] === 0x04 ? 'xlsx' : 'csv';
}

/**
 * Reads the course ids of an import file: CSV streaming (csv-parse), XLSX with exceljs (see
 * {@link readXlsx} for why not its streaming reader). Lines with no value in any cell are skipped (spreadsheets
 * carry trailing empty rows); a row whose `course_id` cell is empty is returned with `courseId: ''`.
 * @throws AppError `validation_failed` (400) with `details.problem`: too_large, too_many_rows,
 *   missing_course_id, unreadable or empty.
 */
export async function readImportFile(file: Buffer, format: SyncListFormat): Promise<FileRow[]> {
  if (file.length > MAX_IMPORT_BYTES) throw fileProblem('too_large', `is ${(file.length / 1024 / 1024).toFixed(1)} MB; the limit is 10 MB`);
  if (file.length === 0) throw fileProblem('empty', 'is empty: it needs a header row with a "course_id" column');
  return format === 'xlsx' ? readXlsx(file) : readCsv(file);
}

/** Collects data rows once the header has given the course id column. */
function rowCollector() {
  const rows: FileRow[] = [];
  let column = -1;
  let sawHeader = false;
  return {
    rows,
    /** Takes one line's cells; returns false once the header lacks the column (the caller stops). */
    take(line: number, cells: string[]): void {
      if (!sawHeader) {
        if (cells.every((c) => c.trim() === '')) return;
        sawHeader = true;
        column = cells.findIndex((c) => c.replace(/^\uFEFF/, '').trim().toLowerCase() === COURSE_ID_HEADER);
        if (column < 0) {
          const seen = cells.map((c) => c.trim()).filter(Boolean).slice(0, 10);
          throw fileProblem('missing_course_id', `has no "${COURSE_ID_HEADER}" column in its header row (line ${line}${seen.length ? `: ${seen.map((s) => `"${s}"`).join(', ')}` : ''})`);
        }
        return;
      }
      if (cells.every((c) => c.trim() === '')) return;
      if (rows.length >= MAX_IMPORT_ROWS) throw fileProblem('too_many_rows', `has more than ${MAX_IMPORT_ROWS.toLocaleString('en')} rows; split it into several files (add mode) or keep the list under that size`);
      rows.push({ line, courseId: (cells[column] ?? '').trim() });
    },
    finish(): FileRow[] {
      if (!sawHeader) throw fileProblem('empty', 'has no header row: the first row must name the columns, one of them "course_id"');
      return rows;
    },
  };
}

async function readCsv(file: Buffer): Promise<FileRow[]> {
  if (file.includes(0)) throw fileProblem('unreadable', 'is not a CSV text file (it holds binary data); save it as CSV or XLSX');
  const collector = rowCollector();
  const parser = Readable.from([file]).pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: false, info: true }));
  let lastLine = 1;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // The line the record starts on: a quoted cell may span lines.
      const line = lastLine;
      lastLine = rec.info.lines + 1;
      collector.take(line, rec.record);
    }
  } catch (err) {
    if (err instanceof AppError) {
      parser.destroy();
      throw err;
    }
    throw fileProblem('unreadable', `could not be read as CSV (${err instanceof Error ? err.message : String(err)})`, err);
  }
  return collector.finish();
}

/** The text of a spreadsheet cell: numbers without a trailing ".0", rich text joined, formulas by their result. */
function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString();
  if ('richText' in value) return value.richText.map((r) => r.text).join('');
  if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
  if ('text' in value) return String(value.text);
  if ('error' in value) return '';
  return '';
}

/** The most XML an XLSX import may hold once unzipped: a 10 MB file of ordinary cells is far below it, a zip bomb above. */
const MAX_XLSX_UNZIPPED_BYTES = 200 * 1024 * 1024;

/**
 * Reads the first worksheet of an XLSX file. exceljs's in-memory reader (JSZip) is used, not its
 * streaming `WorkbookReader`: the streaming reader's stream iteration can drop zip entries or parts
 * of them under load (exceljs issues #1558 and #3064), which would silently shorten a file, and a
 * shortened file in replace mode removes courses. The file is at most 10 MB, and its unzipped size
 * is checked from the zip directory (without inflating anything) before it is read.
 */
async function readXlsx(file: Buffer): Promise<FileRow[]> {
  let unzipped = 0;
  try {
    unzipSync(file, {
      filter: (f) => {
        unzipped += f.originalSize;
        return false;
      },
    });
  } catch (err) {
    throw fileProblem('unreadable', `could not be read as an XLSX workbook (${err instanceof Error ? err.message : String(err)}); save it again from the spreadsheet program as .xlsx, or as CSV`, err);
  }
  if (unzipped > MAX_XLSX_UNZIPPED_BYTES) throw fileProblem('too_large', `unzips to ${Math.round(unzipped / 1024 / 1024)} MB of spreadsheet data; the limit is ${MAX_XLSX_UNZIPPED_BYTES / 1024 / 1024} MB`);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(file as unknown as ArrayBuffer);
  } catch (err) {
    throw fileProblem('unreadable', `could not be read as an XLSX workbook (${err instanceof Error ? err.message : String(err)}); save it again from the spreadsheet program as .xlsx, or as CSV`, err);
  }
  const sheet = wb.worksheets[0];
  if (!sheet) throw fileProblem('unreadable', 'is not an XLSX workbook (no worksheet found); save it again as .xlsx, or as CSV');
  const collector = rowCollector();
  // Rows in order; rows with no cell at all are not visited (like empty lines).
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const values = row.values as ExcelJS.CellValue[];
    // exceljs row values are 1-based (index 0 is empty).
    const cells: string[] = [];
    for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]));
    collector.take(rowNumber, cells);
  });
  return collector.finish();
}
