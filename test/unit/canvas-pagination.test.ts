import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createCanvasClient } from '../../src/canvas/client.js';
import { parallelOrdinalPages, parseLinkHeader } from '../../src/canvas/pagination.js';
import { canvasLink, startFakeCanvas, tokenSource, type FakeCanvas } from './canvas-fake-server.js';

let fake: FakeCanvas;
beforeAll(async () => {
  fake = await startFakeCanvas();
});
afterAll(async () => {
  await fake.close();
});

const client = () => createCanvasClient({ baseUrl: fake.baseUrl, userAgent: 'canvas-companion-test/1.0' });

/** An ordinal collection of `total` items like account courses: `next` always present, no `last`. */
function ordinalCourses(total: number, opts: { maxPerPage?: number; withLast?: boolean } = {}) {
  return (req: { url: URL; path: string }) => {
    const page = Number(req.url.searchParams.get('page') ?? '1');
    const perPage = Math.min(opts.maxPerPage ?? 100, Number(req.url.searchParams.get('per_page') ?? '10'));
    const items = Array.from({ length: total }, (_, i) => ({ id: i + 1 })).slice((page - 1) * perPage, page * perPage);
    const u = (p: number) => `${fake.baseUrl}${req.path}?page=${p}&per_page=${perPage}`;
    const rels: Array<[string, string]> = [['current', u(page)], ['next', u(page + 1)]];
    if (page > 1) rels.push(['prev', u(page - 1)]);
    rels.push(['first', u(1)]);
    if (opts.withLast) {
      const last = Math.max(1, Math.ceil(total / perPage));
      if (page >= last) rels.splice(1, 1);
      rels.push(['last', u(last)]);
    }
    return { body: items, headers: { Link: canvasLink(rels), 'X-Rate-Limit-Remaining': '590.0' } };
  };
}

describe('parseLinkHeader', () => {
  it('parses the exact Canvas format (comma, no space, quoted rels in fixed order)', () => {
    const h =
      '<https://s.instructure.com/api/v1/courses/1/sections?page=2&per_page=100>; rel="current",' +
      '<https://s.instructure.com/api/v1/courses/1/sections?page=3&per_page=100>; rel="next",' +
      '<https://s.instructure.com/api/v1/courses/1/sections?page=1&per_page=100>; rel="prev",' +
      '<https://s.instructure.com/api/v1/courses/1/sections?page=1&per_page=100>; rel="first",' +
      '<https://s.instructure.com/api/v1/courses/1/sections?page=4&per_page=100>; rel="last"';
    expect(parseLinkHeader(h)).toEqual({
      current: 'https://s.instructure.com/api/v1/courses/1/sections?page=2&per_page=100',
      next: 'https://s.instructure.com/api/v1/courses/1/sections?page=3&per_page=100',
      prev: 'https://s.instructure.com/api/v1/courses/1/sections?page=1&per_page=100',
      first: 'https://s.instructure.com/api/v1/courses/1/sections?page=1&per_page=100',
      last: 'https://s.instructure.com/api/v1/courses/1/sections?page=4&per_page=100',
    });
  });

  it('keeps bookmark URLs opaque, accepts spaces, bare and upper-case rels', () => {
    const h =
      '<https://s.test/api/v1/courses/1/enrollments?include%5B%5D=email&page=bookmark:WyJTdHVkZW50RW5yb2xsbWVudCIsIkRvZSwgSmFuZSIsMTIzXQ&per_page=100>; rel="next", ' +
      '<https://s.test/api/v1/courses/1/enrollments?page=first&per_page=100>; REL=first';
    const links = parseLinkHeader(h);
    expect(links.next).toBe(
      'https://s.test/api/v1/courses/1/enrollments?include%5B%5D=email&page=bookmark:WyJTdHVkZW50RW5yb2xsbWVudCIsIkRvZSwgSmFuZSIsMTIzXQ&per_page=100',
    );
    expect(links.first).toBe('https://s.test/api/v1/courses/1/enrollments?page=first&per_page=100');
  });

  it('returns no rels for an absent or empty header', () => {
    expect(parseLinkHeader(null)).toEqual({});
    expect(parseLinkHeader('')).toEqual({});
  });

  it('reads the header whatever the case of its name', async () => {
    fake.setHandler(() => ({ body: [], headers: { LINK: canvasLink([['next', `${fake.baseUrl}/x?page=2`]]) } }));
    const res = await client().request({ endpoint: 'users.self' }, tokenSource().source);
    expect(res.links.next).toBe(`${fake.baseUrl}/x?page=2`);
  });
});

describe('pages()', () => {
  it('follows an ordinal list without last and stops on the short page, asking per_page=100', async () => {
    fake.setHandler(ordinalCourses(250));
    const seen: number[] = [];
    for await (const page of client().pages<{ id: number }>(
      { endpoint: 'accounts.courses', path: { account_id: 'self' }, query: { 'include[]': ['term'] } },
      tokenSource().source,
    )) {
      seen.push(...page.map((c) => c.id));
    }
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[0]!.url.searchParams.get('per_page')).toBe('100');
    expect(fake.requests[0]!.url.searchParams.getAll('include[]')).toEqual(['term']);
  });

  it('stops on the empty page when the total is a multiple of the page size', async () => {
    fake.setHandler(ordinalCourses(200));
    let count = 0;
    for await (const page of client().pages({ endpoint: 'accounts.courses', path: { account_id: '1' } }, tokenSource().source)) {
      count += page.length;
    }
    expect(count).toBe(200);
    expect(fake.requests).toHaveLength(3);
  });

  it("uses the page size Canvas applied (an endpoint clamping to 50 is not 'short')", async () => {
    fake.setHandler(ordinalCourses(120, { maxPerPage: 50 }));
    let count = 0;
    for await (const page of client().pages({ endpoint: 'courses.enrollments', path: { course_id: '1' } }, tokenSource().source)) {
      count += page.length;
    }
    expect(count).toBe(120);
  });

  it('follows a counted ordinal list to its last page (next absent)', async () => {
    fake.setHandler(ordinalCourses(130, { withLast: true }));
    let count = 0;
    for await (const page of client().pages({ endpoint: 'courses.sections', path: { course_id: '9' } }, tokenSource().source)) {
      count += page.length;
    }
    expect(count).toBe(130);
    expect(fake.requests).toHaveLength(2);
  });

  it('follows bookmark pages until next is absent, even through short pages', async () => {
    const bookmarks = ['first', 'bookmark:WyJTdHVkZW50RW5yb2xsbWVudCIsIkEiLDFd', 'bookmark:WyJUZWFjaGVyRW5yb2xsbWVudCIsIkIiLDJd'];
    fake.setHandler((req) => {
      const page = req.url.searchParams.get('page') ?? 'first';
      const i = bookmarks.indexOf(page);
      const u = (p: string) => `${fake.baseUrl}${req.path}?page=${p}&per_page=100`;
      const rels: Array<[string, string]> = [['current', u(page)]];
      if (i < bookmarks.length - 1) rels.push(['next', u(bookmarks[i + 1]!)]);
      rels.push(['first', u('first')]);
      if (i === bookmarks.length - 1) rels.push(['last', u(page)]);
      return { body: [{ id: `e${i}a` }, { id: `e${i}b` }], headers: { Link: canvasLink(rels) } };
    });
    const ids: string[] = [];
    for await (const page of client().pages<{ id: string }>(
      { endpoint: 'courses.enrollments', path: { course_id: '5' } },
      tokenSource().source,
    )) {
      ids.push(...page.map((e) => e.id));
    }
    expect(ids).toEqual(['e0a', 'e0b', 'e1a', 'e1b', 'e2a', 'e2b']);
    expect(fake.requests.map((r) => r.url.searchParams.get('page'))).toEqual([null, ...bookmarks.slice(1)]);
  });

  it('streams: the first page arrives before the next is requested', async () => {
    fake.setHandler(ordinalCourses(500));
    const it = client()
      .pages({ endpoint: 'accounts.courses', path: { account_id: '1' } }, tokenSource().source)
      [Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(fake.requests).toHaveLength(1);
    await it.return?.();
  });

  it('refuses to follow a next link to another host (the token would leak)', async () => {
    fake.setHandler(() => ({ body: [{ id: 1 }], headers: { Link: canvasLink([['next', 'https://evil.test/api/v1/accounts?page=bookmark:x']]) } }));
    const consume = async () => {
      for await (const _ of client().pages({ endpoint: 'users.self' }, tokenSource().source)) void _;
    };
    await expect(consume()).rejects.toMatchObject({ kind: 'bad_request' });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('parallelOrdinalPages', () => {
  it('yields every page in order with no duplicates or losses, whatever order answers arrive in', async () => {
    const base = ordinalCourses(1234);
    fake.setHandler((req) => {
      const page = Number(req.url.searchParams.get('page'));
      // Later pages answer sooner, so completions arrive out of order.
      return { ...base(req), delayMs: (20 - (page % 7) * 3) };
    });
    const ids: number[] = [];
    const c = client();
    for await (const page of parallelOrdinalPages<{ id: number }>(
      c,
      { endpoint: 'accounts.courses', path: { account_id: '1' } },
      tokenSource().source,
      { concurrency: 5 },
    )) {
      ids.push(...page.map((x) => x.id));
    }
    expect(ids).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1));
    expect(c.stats().peakInFlight).toBeGreaterThan(1);
    const pagesAsked = fake.requests.map((r) => Number(r.url.searchParams.get('page')));
    expect(new Set(pagesAsked).size).toBe(pagesAsked.length);
    expect(Math.max(...pagesAsked)).toBeLessThanOrEqual(13 + 4);
  });

  it('returns one empty page for an empty list', async () => {
    fake.setHandler(ordinalCourses(0));
    const pages: unknown[][] = [];
    for await (const p of parallelOrdinalPages(client(), { endpoint: 'accounts.courses', path: { account_id: '1' } }, tokenSource().source, {
      concurrency: 4,
    })) {
      pages.push(p);
    }
    expect(pages).toEqual([[]]);
  });

  it('fails with the error of a page inside the list', async () => {
    const base = ordinalCourses(1000);
    fake.setHandler((req) =>
      req.url.searchParams.get('page') === '3' ? { status: 404, body: { errors: [{ message: 'The specified resource does not exist.' }] } } : base(req),
    );
    const got: number[] = [];
    const run = async () => {
      for await (const p of parallelOrdinalPages<{ id: number }>(
        client(),
        { endpoint: 'accounts.courses', path: { account_id: '1' } },
        tokenSource().source,
        { concurrency: 4 },
      )) {
        got.push(p.length);
      }
    };
    await expect(run()).rejects.toMatchObject({ kind: 'not_found', endpoint: 'accounts.courses' });
    expect(got).toEqual([100, 100]);
  });
});
