import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { unzipSync } from 'fflate';
import { JobFailure } from '../jobs/types.js';
import { isoUtc, type CourseFacts, type CourseWorkflow, type SectionFacts, type TermFacts } from './classify.js';
import { str } from './course-refresh-rows.js';

const CSV_STATUS: Record<string, CourseWorkflow> = {
  unpublished: 'unpublished',
  active: 'available',
  concluded: 'completed',
  completed: 'completed',
  deleted: 'deleted',
};

/** The provisioning report's tables, read row by row (terms and accounts only to name a course's term and department). */
export interface ProvisioningReport {
  /** Line counts (header excluded): the progress totals; a quoted newline would make them a little high. */
  courseLines: number;
  sectionLines: number;
  /**
   * Courses with their term (from terms.csv) and department (from accounts.csv). A course whose
   * account accounts.csv does not list (the account the report ran on, deeper sub-accounts) has
   * `department` undefined: the caller names it.
   */
  courses(): AsyncIterable<CourseFacts>;
  /** Sections not marked deleted. */
  sections(): AsyncIterable<SectionFacts>;
}

const CHUNK_BYTES = 64 * 1024;

function countLines(u8: Uint8Array | undefined): number {
  if (!u8) return 0;
  let n = 0;
  for (let i = u8.indexOf(10); i !== -1; i = u8.indexOf(10, i + 1)) n++;
  if (u8.length > 0 && u8[u8.length - 1] !== 10) n++;
  return Math.max(0, n - 1);
}

/**
 * Rows of a CSV file as objects keyed by header, parsed 64 KB at a time: csv-parse holds at most
 * one chunk's records, where parsing the whole file at once would hold every row.
 */
async function* csvRows(u8: Uint8Array | undefined): AsyncGenerator<Record<string, string>> {
  if (!u8) return;
  const chunks = function* () {
    for (let i = 0; i < u8.length; i += CHUNK_BYTES) yield Buffer.from(u8.buffer, u8.byteOffset + i, Math.min(CHUNK_BYTES, u8.length - i));
  };
  const parser = Readable.from(chunks()).pipe(parse({ columns: true, skip_empty_lines: true, bom: true, relax_column_count: true }));
  try {
    for await (const r of parser) yield r as Record<string, string>;
  } catch (err) {
    throw new JobFailure('report_unreadable', 'The provisioning report has a CSV file that could not be read.', { cause: err });
  }
}

/**
 * Opens the `provisioning_csv` report zip (one CSV per table) and reads courses.csv and
 * sections.csv out of it lazily.
 * @throws JobFailure `report_unreadable` when the file is not a zip or has no courses.csv.
 */
export function openProvisioningZip(zip: Uint8Array): ProvisioningReport {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => /(^|\/)(courses|sections|terms|accounts)\.csv$/i.test(f.name) });
  } catch (err) {
    // A single-table report is a bare CSV; we always ask for two tables, so this is a broken file.
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.', { cause: err });
  }
  const find = (name: string) => Object.entries(files).find(([k]) => k.toLowerCase().endsWith(name))?.[1];
  const coursesCsv = find('courses.csv');
  const sectionsCsv = find('sections.csv');
  const termsCsv = find('terms.csv');
  const accountsCsv = find('accounts.csv');
  if (!coursesCsv) throw new JobFailure('report_unreadable', 'The provisioning report has no courses.csv.');
  // Canvas fills its own ids on every row; a row without one is a broken file, not a course.
  const idOf = (r: Record<string, string>, column: string, file: string, row: number): string => {
    const v = (r[column] ?? '').trim();
    if (!v) throw new JobFailure('report_unreadable', `The provisioning report's ${file} has a row without ${column} (data row ${row}).`);
    return v;
  };
  return {
    courseLines: countLines(coursesCsv),
    sectionLines: countLines(sectionsCsv),
    async *courses() {
      // Terms and accounts are small tables (one row per term / sub-account): read them first.
      const terms = new Map<string, TermFacts>();
      for await (const r of csvRows(termsCsv)) {
        if (r.canvas_term_id) terms.set(r.canvas_term_id.trim(), { name: r.name ?? '', startAt: isoUtc(r.start_date), endAt: isoUtc(r.end_date) });
      }
      const accounts = new Map<string, string | null>();
      for await (const r of csvRows(accountsCsv)) if (r.canvas_account_id) accounts.set(r.canvas_account_id.trim(), str(r.name));
      let row = 0;
      for await (const r of csvRows(coursesCsv)) {
        row++;
        const accountId = str(r.canvas_account_id);
        const termId = (r.canvas_term_id ?? '').trim();
        yield {
          canvasId: idOf(r, 'canvas_course_id', 'courses.csv', row),
          name: r.long_name ?? '',
          courseCode: str(r.short_name),
          sisCourseId: str(r.course_id),
          integrationId: str(r.integration_id),
          workflowState: CSV_STATUS[(r.status ?? '').toLowerCase()] ?? 'unpublished',
          accountId,
          // Without a terms table (an older request) the term is unknown, not absent.
          term: termsCsv ? (terms.get(termId) ?? null) : undefined,
          // Dates are filled only when the course is restricted to its dates (as REST facts are).
          startAt: isoUtc(r.start_date),
          endAt: isoUtc(r.end_date),
          department: accountId !== null && accounts.has(accountId) ? accounts.get(accountId)! : undefined,
        };
      }
    },
    async *sections() {
      let row = 0;
      for await (const r of csvRows(sectionsCsv)) {
        row++;
        if ((r.status ?? 'active').toLowerCase() === 'deleted') continue;
        yield {
          canvasId: idOf(r, 'canvas_section_id', 'sections.csv', row),
          courseCanvasId: idOf(r, 'canvas_course_id', 'sections.csv', row),
          name: r.name ?? '',
          sisSectionId: str(r.section_id),
          integrationId: str(r.integration_id),
        };
      }
    },
  };
}
