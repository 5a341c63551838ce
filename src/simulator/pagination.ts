import type { SimRequest } from './http-kit.js';
import { parseParams, str, toQuery } from './rails-params.js';

/**
 * Canvas pagination: `per_page` default 10 clamped to 1..100, Link rels in the
 * order current,next,prev,first,last joined by a bare comma, link URLs rebuilt from the request's
 * query with Rails `to_query` and the page value interpolated raw.
 */

export interface Page<T> {
  items: T[];
  link: string;
}

const EXCLUDED = ['page', 'per_page', 'access_token', 'api_key'];
const ORDER = ['current', 'next', 'prev', 'first', 'last'] as const;
type Rel = (typeof ORDER)[number];

export function perPage(req: SimRequest): number {
  const raw = str(req.query, 'per_page');
  if (raw === undefined) return 10;
  const n = parseInt(raw, 10);
  return Math.min(100, Math.max(1, Number.isNaN(n) ? 0 : n));
}

function linkBase(req: SimRequest): string {
  const query = parseParams(req.search);
  for (const k of EXCLUDED) delete query[k];
  const q = toQuery(query);
  return `${req.origin}${req.path}?${q ? `${q}&` : ''}`;
}

function linkHeader(req: SimRequest, rels: Partial<Record<Rel, string>>, per: number): string {
  const base = linkBase(req);
  return ORDER.filter((r) => rels[r] !== undefined)
    .map((r) => `<${base}page=${rels[r]}&per_page=${per}>; rel="${r}"`)
    .join(',');
}

/**
 * Numeric pages. `withLast` when Canvas counts the collection (sections); without it (account
 * courses, course users: `total_entries: nil`) there is no `last` and `next` is always present.
 * A page past the end is 200 with an empty list.
 */
export function ordinal<T>(req: SimRequest, all: T[], withLast: boolean): Page<T> {
  const per = perPage(req);
  const raw = parseInt(str(req.query, 'page') ?? '1', 10);
  const page = Number.isNaN(raw) || raw < 1 ? 1 : raw;
  const items = all.slice((page - 1) * per, page * per);
  const rels: Partial<Record<Rel, string>> = { current: String(page) };
  if (withLast) {
    const last = Math.max(1, Math.ceil(all.length / per));
    if (page < last) rels.next = String(page + 1);
    if (page > 1) rels.prev = String(page - 1);
    rels.first = '1';
    rels.last = String(last);
  } else {
    rels.next = String(page + 1);
    if (page > 1) rels.prev = String(page - 1);
    rels.first = '1';
  }
  return { items, link: linkHeader(req, rels, per) };
}

export type SortKey = Array<string | number>;

export function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

function encodeBookmark(key: SortKey): string {
  return 'bookmark:' + Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeBookmark(page: string | undefined): SortKey | undefined {
  if (!page?.startsWith('bookmark:')) return undefined;
  try {
    const v = JSON.parse(Buffer.from(page.slice('bookmark:'.length), 'base64url').toString('utf8')) as unknown;
    return Array.isArray(v) ? (v as SortKey) : undefined;
  } catch {
    return undefined;
  }
}

/** Thrown for a numeric `page` > 1 on a bookmark collection (`BookmarkedCollection::InvalidPage`). */
export class InvalidPageError extends Error {}

/**
 * Bookmark pages (enrollments): `page=first` or `page=bookmark:<base64url JSON sort key>`;
 * links current, next (only if more rows), first, and last only on the final page; never prev.
 * An undecodable bookmark is the first page. `all` must already be sorted by `keyOf`.
 */
export function bookmarked<T>(req: SimRequest, all: T[], keyOf: (t: T) => SortKey): Page<T> {
  const per = perPage(req);
  const raw = str(req.query, 'page');
  if (raw !== undefined && /^\d+$/.test(raw) && Number(raw) > 1) throw new InvalidPageError(raw);
  const after = decodeBookmark(raw);
  const start = after ? all.findIndex((t) => compareKeys(keyOf(t), after) > 0) : 0;
  const from = start < 0 ? all.length : start;
  const items = all.slice(from, from + per);
  const current = after ? raw! : 'first';
  const more = from + per < all.length;
  const rels: Partial<Record<Rel, string>> = { current };
  if (more) rels.next = encodeBookmark(keyOf(items[items.length - 1]!));
  rels.first = 'first';
  if (!more) rels.last = current;
  return { items, link: linkHeader(req, rels, per) };
}
