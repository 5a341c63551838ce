/**
 * Canvas pagination: `Link` header parsing, a
 * streaming follower for ordinal and bookmark pages, and a page-parallel reader for ordinal lists
 * without `rel="last"` (account courses) used by the fast refresh.
 */
import { CanvasApiError } from './errors.js';
import type { AccessTokenSource, CanvasClient, CanvasRequest, CanvasResponse } from './types.js';

export const PER_PAGE = 100;

export type LinkRels = CanvasResponse<unknown>['links'];
const KNOWN_RELS = new Set(['current', 'next', 'prev', 'first', 'last']);

/**
 * Parses a `Link` header (`<url>; rel="next",<url>; rel="last"`, comma with or without a space,
 * quoted or bare rel, several rels in one value) into lower-cased rels. URLs are resolved against
 * `base` when relative and otherwise left untouched (they are opaque).
 */
export function parseLinkHeader(value: string | null | undefined, base?: string): LinkRels {
  const links: LinkRels = {};
  if (!value) return links;
  const re = /<([^>]*)>((?:\s*;\s*[^;,<]+)*)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const url = base ? safeResolve(m[1]!, base) : m[1]!;
    const params = m[2]!.split(';').slice(1);
    for (const p of params) {
      const pm = /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(p);
      if (!pm) continue;
      for (const rel of pm[1]!.toLowerCase().split(/\s+/)) {
        if (KNOWN_RELS.has(rel) && !(rel in links)) links[rel as keyof LinkRels] = url;
      }
    }
  }
  return links;
}

/** Reads the `Link` header whatever its case (fetch's Headers is already case-insensitive). */
export function linksOf(headers: Headers, base?: string): LinkRels {
  return parseLinkHeader(headers.get('link'), base);
}

function safeResolve(url: string, base: string): string {
  try {
    return new URL(url, base).toString();
  } catch {
    return url;
  }
}

/** The `page` value of a Link URL: a number for ordinal pages, a string for bookmarks. */
export function pageParam(url: string): string | null {
  try {
    return new URL(url).searchParams.get('page');
  } catch {
    return null;
  }
}

/** The effective page size Canvas used, read from a link (endpoints may clamp below 100). */
function perPageOf(links: LinkRels, requested: number): number {
  for (const url of [links.next, links.current, links.first]) {
    if (!url) continue;
    try {
      const n = Number(new URL(url).searchParams.get('per_page'));
      if (Number.isInteger(n) && n > 0) return n;
    } catch {
      // opaque URL we cannot parse: fall back to what we asked for
    }
  }
  return requested;
}

function isOrdinal(url: string): boolean {
  const p = pageParam(url);
  return p !== null && /^\d+$/.test(p);
}

function asArray<T>(res: CanvasResponse<unknown>, what: string): T[] {
  if (!Array.isArray(res.body)) {
    throw new CanvasApiError('malformed', `Canvas answered ${what} with something that is not a list`, {
      status: res.status,
    });
  }
  return res.body as T[];
}

/**
 * Follows `rel="next"` one page at a time, yielding each page as it arrives (no accumulation).
 * Stops when `next` is absent, or — for ordinal pages, where account courses and course users
 * always send `next` — on a short or empty page. Bookmark pages are followed until `next` is gone.
 */
export async function* followPages<T>(
  first: () => Promise<CanvasResponse<unknown>>,
  next: (url: string) => Promise<CanvasResponse<unknown>>,
  requestedPerPage = PER_PAGE,
): AsyncGenerator<T[]> {
  let res = await first();
  const seen = new Set<string>();
  for (;;) {
    const items = asArray<T>(res, 'a page');
    yield items;
    const nextUrl = res.links.next;
    if (!nextUrl) return;
    if (isOrdinal(nextUrl) && items.length < perPageOf(res.links, requestedPerPage)) return;
    // A next link pointing back at a page already read would loop forever.
    if (seen.has(nextUrl) || (res.links.current && nextUrl === res.links.current)) return;
    seen.add(nextUrl);
    res = await next(nextUrl);
  }
}

export interface ParallelOrdinalOptions {
  /** Pages requested at once (the governor, if any, may hold some back). */
  concurrency: number;
  perPage?: number;
}

/**
 * Reads an ordinal list (no `rel="last"`, e.g. account courses) by requesting page numbers 1..k
 * in parallel and stopping at the first short or empty page. Pages are yielded IN ORDER, each
 * once; at most about 2 × concurrency pages are buffered. Pages past the end come back `[]`
 * (Canvas's ordinal behaviour), so the only waste is up to `concurrency − 1` empty requests.
 * @throws CanvasApiError from the first page that fails; other in-flight pages are drained.
 */
export async function* parallelOrdinalPages<T>(
  client: Pick<CanvasClient, 'request'>,
  req: CanvasRequest,
  auth: AccessTokenSource,
  opts: ParallelOrdinalOptions,
): AsyncGenerator<T[]> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const requestedPerPage = opts.perPage ?? PER_PAGE;
  const results = new Map<number, T[]>();
  const failures = new Map<number, unknown>();
  const inflight = new Map<number, Promise<void>>();
  let lastPage = Infinity; // first short page seen
  let nextToLaunch = 1;
  let nextToYield = 1;
  let notify: (() => void) | null = null;

  const launch = (page: number) => {
    const p = client
      .request<unknown>({ ...req, query: { ...req.query, page, per_page: requestedPerPage } }, auth)
      .then((res) => {
        const items = asArray<T>(res, `page ${page}`);
        results.set(page, items);
        if (items.length < perPageOf(res.links, requestedPerPage) || !res.links.next) {
          lastPage = Math.min(lastPage, page);
        }
      })
      .catch((err: unknown) => {
        failures.set(page, err);
      })
      .finally(() => {
        inflight.delete(page);
        notify?.();
      });
    inflight.set(page, p);
  };

  try {
    for (;;) {
      while (
        failures.size === 0 &&
        nextToLaunch <= lastPage &&
        inflight.size < concurrency &&
        nextToLaunch < nextToYield + 2 * concurrency
      ) {
        launch(nextToLaunch++);
      }
      if (nextToYield > lastPage) return;
      // A failure past the end of the list (a page nobody needs) is ignored.
      if (failures.has(nextToYield)) throw failures.get(nextToYield);
      if (results.has(nextToYield)) {
        const items = results.get(nextToYield)!;
        results.delete(nextToYield);
        const page = nextToYield++;
        if (items.length > 0 || page === 1) yield items;
        continue;
      }
      await new Promise<void>((resolve) => {
        notify = resolve;
      });
      notify = null;
    }
  } finally {
    // Never leave requests running unobserved (their errors are already captured).
    await Promise.all(inflight.values());
  }
}
