import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { createCsvRowReader, readZipCsv } from '../../../src/sync/csv-reader.js';

/** RFC 4180 writing: a field with a comma, quote or line break is quoted, quotes doubled. */
const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const toCsv = (rows: string[][], eol = '\n') => rows.map((r) => r.map(field).join(',')).join(eol) + eol;

/** Every row the reader hands out, header first, when the text arrives in the given pieces. */
function readPieces(pieces: string[]): string[][] {
  const got: string[][] = [];
  let header: string[] | undefined;
  const reader = createCsvRowReader('test.csv', (row, h) => {
    header ??= [...h.keys()];
    got.push([...row]);
  });
  for (const p of pieces) reader.push(p);
  reader.end();
  return header ? [header, ...got] : got;
}

describe('CSV row reader (report files read in pieces)', () => {
  it('reads quoted commas, doubled quotes and line breaks inside quotes, with a BOM and CRLF line ends', () => {
    const text = '\uFEFFid,name,note\r\n1,"Doe, Jane","said ""hi""\r\nand left"\r\n2,Sam,\r\n';
    expect(readPieces([text])).toEqual([
      ['id', 'name', 'note'],
      ['1', 'Doe, Jane', 'said "hi"\r\nand left'],
      ['2', 'Sam', ''],
    ]);
  });

  it('gives the same rows however the text is cut (inside quoted fields, past the batch size), with either line end', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', 'x'), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.constantFrom('\n', '\r\n'),
        (rows, cuts, padding, eol) => {
          // A long first data row pushes the text past one batch, so the batch cut is exercised too.
          const all = [['h1', 'h2', 'h3'], ['x'.repeat(padding), 'p', 'q'], ...rows.filter((r) => r.join('') !== '')];
          const text = toCsv(all, eol);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const pieces = [0, ...points, text.length].slice(1).map((end, i, arr) => text.slice(i === 0 ? 0 : arr[i - 1], end));
          expect(readPieces(pieces)).toEqual(all);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a quoted field that is never closed', () => {
    expect(() => readPieces(['id,name\n1,"open\n'])).toThrow(expect.objectContaining({ code: 'report_unreadable', message: expect.stringContaining('never closed') }));
  });
});

describe('readZipCsv', () => {
  const zip = zipSync({ 'report/enrollments.csv': strToU8('a,b\n1,2\n3,"x\ny"\n'), 'users.csv': strToU8('u\n9\n') });

  it('reads the one member named, in a folder or not, row by row', () => {
    const rows: Array<{ a: string | undefined; b: string | undefined }> = [];
    expect(readZipCsv(zip, 'enrollments.csv', (r, h) => rows.push({ a: r[h.get('a')!], b: r[h.get('b')!] }))).toBe(true);
    expect(rows).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: 'x\ny' },
    ]);
    const users: string[] = [];
    expect(readZipCsv(zip, 'users.csv', (r) => users.push(r[0]!))).toBe(true);
    expect(users).toEqual(['9']);
  });

  it('says when the member is missing, and refuses bytes that are not a zip', () => {
    expect(readZipCsv(zip, 'sections.csv', () => undefined)).toBe(false);
    expect(() => readZipCsv(strToU8('not a zip'), 'users.csv', () => undefined)).toThrow(expect.objectContaining({ code: 'report_unreadable' }));
  });
});
