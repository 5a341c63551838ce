/** The course list's filters as the page keeps them (strings from the query string). */
export interface CourseListQuery {
  syncable?: string;
  reason?: string;
  q?: string;
  limit?: number;
}

export interface CoursePaging {
  /** "Courses 51–100 of 1,814" (or "No courses match"). */
  rangeLabel: string;
  page: number;
  pages: number;
  /** Links keep every filter: `?syncable=true&q=bio&page=2`; null at either end. */
  prevUrl: string | null;
  nextUrl: string | null;
  /** The current list's query string (filters and page), so a form posted from it comes back to it. */
  current: string;
}

const n = (v: number) => v.toLocaleString('en-US');

/** The query string of the list with these filters at `page` (page 1 is left out). */
export function courseListQueryString(q: CourseListQuery, page: number): string {
  const p = new URLSearchParams();
  if (q.syncable) p.set('syncable', q.syncable);
  if (q.reason) p.set('reason', q.reason);
  if (q.q) p.set('q', q.q);
  if (q.limit) p.set('limit', String(q.limit));
  if (page > 1) p.set('page', String(page));
  return p.toString();
}

/**
 * Previous/next links and the "courses 51–100 of 1,814" line of the course list. Filters live in
 * the query string, so the links, the filter form and a reload all keep them.
 */
export function presentCoursePaging(q: CourseListQuery, at: { page: number; size: number; total: number; shown: number }): CoursePaging {
  const pages = Math.max(1, Math.ceil(at.total / at.size));
  const first = (at.page - 1) * at.size + 1;
  const link = (page: number) => `?${courseListQueryString(q, page)}`;
  return {
    rangeLabel: at.shown === 0 ? 'No courses match' : `Courses ${n(first)}–${n(first + at.shown - 1)} of ${n(at.total)}`,
    page: at.page,
    pages,
    prevUrl: at.page > 1 ? link(at.page - 1) : null,
    nextUrl: at.page < pages ? link(at.page + 1) : null,
    current: courseListQueryString(q, at.page),
  };
}
