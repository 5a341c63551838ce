import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import Papa from 'papaparse';
import { JobFailure } from '../jobs/types.js';

/** Text handed to the parser at once: big enough that per-call overhead vanishes, small enough to stay out of the way. */
const BATCH_CHARS = 256 * 1024;

/** A CSV file's header as column positions (names trimmed). */
export type CsvHeader = ReadonlyMap<string, number>;

/** One data row and the header it is read with. */
export type CsvRowHandler = (row: readonly string[], header: CsvHeader) => void;

const unreadable = (file: string, detail: string, cause?: unknown) =>
  new JobFailure('report_unreadable', `The provisioning report's ${file} could not be read as CSV (${detail}).`, cause === undefined ? undefined : { cause });

/**
 * A push parser for one CSV file arriving in text pieces: rows go to `onRow` as arrays, the first
 * row being the header. Text is cut only at a line break outside quotes (a quoted field may hold
 * line breaks), and each cut is parsed with papaparse, about 4× faster than a per-row stream
 * parser on report-sized files. Memory stays at one batch whatever the file's size.
 * @throws JobFailure `report_unreadable` (from `push` or `end`) for a quote left open or malformed quoting
 */
export function createCsvRowReader(file: string, onRow: CsvRowHandler) {
  let pending = '';
  let scanned = 0;
  let inQuotes = false;
  /** Index just after the last line break outside quotes in `pending` (0: none yet). */
  let cut = 0;
  let started = false;
  let header: Map<string, number> | undefined;
  /** The file's line end, from its first line break outside quotes (papaparse would guess it again for every batch). */
  let newline: '\n' | '\r\n' | undefined;
  const parse = (text: string) => {
    const res = Papa.parse<string[]>(text, { delimiter: ',', quoteChar: '"', newline: newline ?? '\n', skipEmptyLines: true });
    if (res.errors.length > 0) {
      const e = res.errors[0]!;
      throw unreadable(file, `${e.code}: ${e.message}`);
    }
    for (const row of res.data) {
      if (!header) header = new Map(row.map((name, i) => [name.trim(), i]));
      else onRow(row, header);
    }
  };
  return {
    push(text: string): void {
      if (!started && text.length > 0) {
        started = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      pending += text;
      // From quote to quote with native searches: outside quotes, the last line break before the
      // next quote is a place to cut; inside, only the closing quote matters ("" reopens at once).
      for (let i = scanned; i < pending.length; ) {
        const q = pending.indexOf('"', i);
        if (!inQuotes) {
          const end = q < 0 ? pending.length : q;
          if (newline === undefined) {
            const first = pending.indexOf('\n', i);
            if (first >= 0 && first < end) newline = first > 0 && pending.charCodeAt(first - 1) === 13 ? '\r\n' : '\n';
          }
          const nl = pending.lastIndexOf('\n', end - 1);
          if (nl >= i) cut = nl + 1;
        }
        if (q < 0) break;
        inQuotes = !inQuotes;
        i = q + 1;
      }
      scanned = pending.length;
      if (cut >= BATCH_CHARS) {
        // Quotes are balanced at `cut`, so what follows keeps the parity found so far.
        parse(pending.slice(0, cut));
        pending = pending.slice(cut);
        scanned -= cut;
        cut = 0;
      }
    },
    end(): void {
      if (inQuotes) throw unreadable(file, 'a quoted field is never closed');
      if (pending.length > 0) parse(pending);
      pending = '';
    },
  };
}

/**
 * Reads one CSV member of a zip (the first whose name ends with `name`, in any folder, any case)
 * row by row, inflating it piece by piece: neither the file nor its rows are held whole. Returns
 * false when the zip has no such member.
 * @throws JobFailure `report_unreadable` when the bytes are not a zip or the CSV cannot be read
 */
export function readZipCsv(zip: Uint8Array, name: string, onRow: CsvRowHandler): boolean {
  // A zip starts with a local file header (or, empty, with the end record): anything else is not one.
  if (zip.length < 4 || zip[0] !== 0x50 || zip[1] !== 0x4b || !((zip[2] === 3 && zip[3] === 4) || (zip[2] === 5 && zip[3] === 6))) {
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.');
  }
  const wanted = name.toLowerCase();
  let found = false;
  let failure: unknown;
  const unzip = new Unzip((f: UnzipFile) => {
    if (found || !(f.name.toLowerCase() === wanted || f.name.toLowerCase().endsWith(`/${wanted}`))) return;
    found = true;
    const decoder = new TextDecoder('utf-8');
    const reader = createCsvRowReader(name, onRow);
    f.ondata = (err, chunk, final) => {
      if (failure) return;
      try {
        if (err) throw unreadable(name, 'the zip member could not be inflated', err);
        reader.push(decoder.decode(chunk, { stream: !final }));
        if (final) reader.end();
      } catch (e) {
        failure = e;
      }
    };
    f.start();
  });
  unzip.register(UnzipInflate);
  const STEP = 64 * 1024;
  try {
    for (let i = 0; i < zip.length && !failure; i += STEP) unzip.push(zip.subarray(i, Math.min(zip.length, i + STEP)), i + STEP >= zip.length);
  } catch (err) {
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.', { cause: err });
  }
  if (failure) throw failure;
  return found;
}
