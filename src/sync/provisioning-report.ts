import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { unzipSync } from 'fflate';
import { JobFailure } from '../jobs/types.js';
import type { CourseFacts, CourseWorkflow, SectionFacts } from './classify.js';
import { str } from './course-refresh-rows.js';

const CSV_STATUS: Record<string, CourseWorkflow> = {
  unpublished: 'unpublished',
  active: 'available',
  concluded: 'completed',
  completed: 'completed',
  deleted: 'deleted',
};

/** The provisioning report's two tables, read row by row. */
export interface ProvisioningReport {
  /** Line counts (header excluded): the progress totals; a quoted newline would make them a little high. */
  courseLines: number;
  sectionLines: number;
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
export async function* csvRows(u8: Uint8Array | undefined): AsyncGenerator<Record<string, string>> {
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
    files = unzipSync(zip, { filter: (f) => /(^|\/)(courses|sections)\.csv$/i.test(f.name) });
  } catch (err) {
    // A single-table report is a bare CSV; we always ask for two tables, so this is a broken file.
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.', { cause: err });
  }
  const find = (name: string) => Object.entries(files).find(([k]) => k.toLowerCase().endsWith(name))?.[1];
  const coursesCsv = find('courses.csv');
  const sectionsCsv = find('sections.csv');
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
      let row = 0;
      for await (const r of csvRows(coursesCsv)) {
        row++;
        yield {
          canvasId: idOf(r, 'canvas_course_id', 'courses.csv', row),
          name: r.long_name ?? '',
          courseCode: str(r.short_name),
          sisCourseId: str(r.course_id),
          integrationId: str(r.integration_id),
          workflowState: CSV_STATUS[(r.status ?? '').toLowerCase()] ?? 'unpublished',
          accountId: str(r.canvas_account_id),
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
