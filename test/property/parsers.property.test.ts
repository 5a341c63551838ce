/**
 * Property tests of the parsers that read what Canvas (or a person pasting from Canvas) sends:
 * the authorize-error classifier, the pasted-URL diagnostics, the Link header parser and the
 * provisioning report's CSV rows. No input throws unexpectedly; results keep their documented shape.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { parseLinkHeader } from '../../src/canvas/pagination.js';
import { REASON_CODES } from '../../src/integrations/reasons.js';
import { JobFailure } from '../../src/jobs/types.js';
import { AUTHORIZE_ERRORS, classifyAuthorizeError } from '../../src/integrations/authorize-errors.js';
import { diagnoseAuthorizeUrl } from '../../src/integrations/diagnose-url.js';
import type { CourseFacts, SectionFacts } from '../../src/sync/classify.js';
import { openProvisioningZip } from '../../src/sync/course-refresh.js';

const RUNS = { numRuns: 300 };
const reasons = new Set<string>(REASON_CODES);
const text = fc.string({ unit: 'grapheme', maxLength: 60 });
const errorCode = fc.oneof(fc.constantFrom(...Object.keys(AUTHORIZE_ERRORS), 'invalid_client', 'invalid_request'), fc.string({ maxLength: 20 }));
const scopeish = fc.constantFrom('url:GET|/api/v1/users/:user_id', 'url:GET|/api/v1/accounts/:account_id/courses', 'url:POST|/api/v1/accounts/:account_id/reports/:report');
const description = fc.oneof(
  text,
  fc.array(scopeish, { maxLength: 3 }).map((s) => `A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: ${s.join(' ')}`),
  fc.constant('redirect_uri does not match client settings'),
);

function expectClassified(c: { reason: string; detail: string; missingScopes: string[] }) {
  expect(reasons.has(c.reason)).toBe(true);
  expect(typeof c.detail).toBe('string');
  expect(c.detail.length).toBeGreaterThan(0);
  expect(Array.isArray(c.missingScopes)).toBe(true);
  for (const s of c.missingScopes) expect(typeof s).toBe('string');
}

describe('authorize-error classifier (callback, preflight, diagnostics)', () => {
  it('maps any error/description pair to a known reason with a detail; only invalid_scope lists scopes', () => {
    fc.assert(
      fc.property(errorCode, description, (error, desc) => {
        const c = classifyAuthorizeError(error, desc);
        expectClassified(c);
        if (error !== 'invalid_scope') expect(c.missingScopes).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('pasted-URL diagnostics (POST /api/v1/diagnostics/authorize-url)', () => {
  const shape = (d: ReturnType<typeof diagnoseAuthorizeUrl>) => {
    expect(Object.keys(d).sort()).toEqual(['description', 'error', 'missingScopes', 'reason']);
    expect(d.error === null || typeof d.error === 'string').toBe(true);
    expect(d.description === null || typeof d.description === 'string').toBe(true);
    expect(d.reason === null || reasons.has(d.reason)).toBe(true);
    expect(Array.isArray(d.missingScopes)).toBe(true);
    if (!d.error) expect(d.reason).toBeNull();
  };

  it('never throws and keeps its shape for any pasted text', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.json()), (s) => shape(diagnoseAuthorizeUrl(s))),
      RUNS,
    );
  });

  it('finds the error in a query, a fragment or a JSON body, wherever it is pasted from', () => {
    fc.assert(
      fc.property(errorCode.filter((e) => e.length > 0), description, fc.constantFrom('query', 'fragment', 'json', 'bare'), (error, desc, where) => {
        const q = new URLSearchParams({ error, error_description: desc }).toString();
        const pasted =
          where === 'query'
            ? `https://school.instructure.com/login/oauth2/auth?${q}`
            : where === 'fragment'
              ? `https://app.example.edu/oauth/callback#${q}`
              : where === 'json'
                ? JSON.stringify({ error, error_description: desc })
                : `?${q}`;
        const d = diagnoseAuthorizeUrl(pasted);
        shape(d);
        expect(d.error).toBe(error);
        expect(d.description).toBe(desc);
        expect(d.reason).toBe(classifyAuthorizeError(error, desc).reason);
      }),
      RUNS,
    );
  });
});

describe('Link header parser', () => {
  const RELS = ['current', 'next', 'prev', 'first', 'last'];

  it('never throws; yields only known rels with string URLs', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })), fc.option(fc.constantFrom('https://school.instructure.com/api/v1/x', 'not a url')), (value, base) => {
        const links = parseLinkHeader(value, base ?? undefined);
        for (const [rel, url] of Object.entries(links)) {
          expect(RELS).toContain(rel);
          expect(typeof url).toBe('string');
        }
      }),
      RUNS,
    );
  });

  it('reads back every rel of a well-formed header in any spelling Canvas uses (case, quotes, spacing)', () => {
    const entry = fc.record({
      rel: fc.constantFrom(...RELS),
      page: fc.oneof(fc.nat({ max: 9999 }).map(String), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/).map((s) => `bookmark:${s}`)),
      quoted: fc.boolean(),
      upper: fc.boolean(),
      space: fc.constantFrom('', ' ', '  '),
    });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => e.rel, minLength: 1, maxLength: 5 }), fc.constantFrom(',', ', '), (entries, sep) => {
        const value = entries
          .map((e) => {
            const rel = e.upper ? e.rel.toUpperCase() : e.rel;
            return `<https://school.instructure.com/api/v1/courses?page=${encodeURIComponent(e.page)}&per_page=100>;${e.space}rel=${e.quoted ? `"${rel}"` : rel}`;
          })
          .join(sep);
        const links = parseLinkHeader(value);
        expect(Object.keys(links).sort()).toEqual(entries.map((e) => e.rel).sort());
        for (const e of entries) expect(new URL(links[e.rel as keyof typeof links]!).searchParams.get('page')).toBe(e.page);
      }),
      RUNS,
    );
  });
});

describe('provisioning report CSV rows (bulk refresh path)', () => {
  const COURSE_HEADER = ['canvas_course_id', 'course_id', 'integration_id', 'short_name', 'long_name', 'canvas_account_id', 'account_id', 'canvas_term_id', 'term_id', 'status', 'start_date', 'end_date', 'blueprint_course_id', 'created_by_sis'];
  const SECTION_HEADER = ['canvas_section_id', 'section_id', 'canvas_course_id', 'course_id', 'integration_id', 'name', 'status', 'start_date', 'end_date', 'canvas_account_id', 'account_id', 'created_by_sis'];
  const cell = fc.oneof(
    fc.constantFrom('', 'active', 'unpublished', 'deleted', 'completed', '101', 'sis:1'),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', 'a', ' '), maxLength: 8 }),
  );
  const csvText = (header: string[]) =>
    fc.record({
      drop: fc.subarray(header.slice(1)),
      rows: fc.array(fc.array(cell, { minLength: 0, maxLength: header.length + 2 }), { maxLength: 12 }),
      quoteAll: fc.boolean(),
      bom: fc.boolean(),
      crlf: fc.boolean(),
    }).map(({ drop, rows, quoteAll, bom, crlf }) => {
      const cols = header.filter((h) => !drop.includes(h));
      const q = (v: string) => (quoteAll || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
      const nl = crlf ? '\r\n' : '\n';
      return `${bom ? '\uFEFF' : ''}${[cols.join(','), ...rows.map((r) => r.map(q).join(','))].join(nl)}${nl}`;
    });
  const raw = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));

  const nullableString = (v: unknown) => v === null || v === undefined || typeof v === 'string';

  it('any report either reads into rows of the documented shape or fails with a JobFailure, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(csvText(COURSE_HEADER), raw), fc.option(fc.oneof(csvText(SECTION_HEADER), raw)), fc.boolean(), async (courses, sections, asZip) => {
        const files: Record<string, Uint8Array> = { 'courses.csv': strToU8(courses) };
        if (sections !== null) files['sections.csv'] = strToU8(sections);
        const read = { courses: [] as CourseFacts[], sections: [] as SectionFacts[], courseLines: 0 };
        try {
          const report = openProvisioningZip(asZip ? zipSync(files) : strToU8(courses));
          read.courseLines = report.courseLines;
          for await (const c of report.courses()) read.courses.push(c);
          for await (const s of report.sections()) read.sections.push(s);
        } catch (err) {
          expect(err).toBeInstanceOf(JobFailure);
          return;
        }
        expect(Number.isInteger(read.courseLines) && read.courseLines >= 0).toBe(true);
        for (const c of read.courses) {
          expect(typeof c.canvasId).toBe('string');
          expect(c.canvasId.length).toBeGreaterThan(0);
          expect(typeof c.name).toBe('string');
          expect(nullableString(c.courseCode) && nullableString(c.sisCourseId) && nullableString(c.integrationId) && nullableString(c.accountId)).toBe(true);
          expect(['available', 'unpublished', 'completed', 'deleted']).toContain(c.workflowState);
        }
        for (const s of read.sections) {
          expect(typeof s.canvasId).toBe('string');
          expect(s.canvasId.length).toBeGreaterThan(0);
          expect(typeof s.courseCanvasId).toBe('string');
          expect(s.courseCanvasId.length).toBeGreaterThan(0);
          expect(typeof s.name).toBe('string');
          expect(nullableString(s.sisSectionId) && nullableString(s.integrationId)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
