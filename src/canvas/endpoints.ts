/**
 * The endpoint registry: every Canvas endpoint the product calls, declared once. Scopes for a
 * scoped developer key ("Enforce Scopes") are derived from it, so the list shown to admins is
 * exactly what the code uses. test/unit/canvas-endpoints.test.ts checks both directions: every
 * endpoint the code calls is declared here, and every endpoint declared here is called.
 */
import type { EndpointId, Feature } from './types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface EndpointDeclaration {
  id: EndpointId;
  method: HttpMethod;
  /** Canvas's route template, exactly as in its scope string (`:param` segments). */
  path: string;
  feature: Feature;
  /** Why the product calls it; shown on the "Scoped token" page. */
  why: string;
  /** Path parameter values used when the caller gives none (e.g. `id: 'self'` for users/self). */
  defaults?: Record<string, string>;
  /**
   * Not idempotent: Canvas may have acted on a request whose answer was lost (5xx, network error,
   * timeout, unreadable body), and sending it again would act twice (a second bulk grade job, a
   * second assignment). The client then does not retry it; the caller checks Canvas instead.
   */
  sentOnce?: true;
}

const DECLARATIONS = [
  {
    id: 'users.self',
    method: 'GET',
    path: '/api/v1/users/:id',
    feature: 'connection',
    why: 'Identifies the token owner (called as /api/v1/users/self) and proves the token works.',
    defaults: { id: 'self' },
  },
  {
    id: 'accounts.permissions',
    method: 'GET',
    path: '/api/v1/accounts/:account_id/permissions',
    feature: 'connection',
    why: "Checks the token owner's account permissions (course list, roster, SIS data) to explain missing data.",
  },
  {
    id: 'accounts.roles',
    method: 'GET',
    path: '/api/v1/accounts/:account_id/roles',
    feature: 'connection',
    why: 'Lists enrollment roles so the Configure page can offer the student roles that make exam-takers.',
  },
  {
    id: 'accounts.courses',
    method: 'GET',
    path: '/api/v1/accounts/:account_id/courses',
    feature: 'course_refresh',
    why: "Lists the account's courses for the course refresh.",
  },
  {
    id: 'courses.get',
    method: 'GET',
    path: '/api/v1/courses/:id',
    feature: 'course_refresh',
    why: 'Fetches one course for the specific course refresh (by Canvas id or SIS id).',
  },
  {
    id: 'courses.sections',
    method: 'GET',
    path: '/api/v1/courses/:course_id/sections',
    feature: 'course_refresh',
    why: "Lists each course's sections and their ids.",
  },
  {
    id: 'accounts.reports.start',
    method: 'POST',
    path: '/api/v1/accounts/:account_id/reports/:report',
    feature: 'course_refresh_bulk',
    why: 'Starts the provisioning_csv report (courses and sections in one file) for a fast full refresh.',
  },
  {
    id: 'accounts.reports.status',
    method: 'GET',
    path: '/api/v1/accounts/:account_id/reports/:report/:id',
    feature: 'course_refresh_bulk',
    why: 'Polls the report until its file is ready.',
  },
  {
    id: 'accounts.get',
    method: 'GET',
    path: '/api/v1/accounts/:id',
    feature: 'course_refresh_bulk',
    why: "Reads the name of a course's account (its department) when the report's accounts table does not list it (the root account, deeper sub-accounts).",
  },
  {
    id: 'courses.enrollments',
    method: 'GET',
    path: '/api/v1/courses/:course_id/enrollments',
    feature: 'roster_sync',
    why: "Lists a course's enrollments (role, state, section) to decide who is an exam-taker.",
  },
  {
    id: 'assignments.list',
    method: 'GET',
    path: '/api/v1/courses/:course_id/assignments',
    feature: 'grade_passback',
    why: "Finds an exam's assignment again by its integration_id when the local record of it is gone (Canvas has no filter on it).",
  },
  {
    id: 'assignments.create',
    method: 'POST',
    path: '/api/v1/courses/:course_id/assignments',
    feature: 'grade_passback',
    why: "Creates the exam's assignment (points, published, integration_id = the exam key) the first time its scores are posted.",
    sentOnce: true,
  },
  {
    id: 'assignments.get',
    method: 'GET',
    path: '/api/v1/courses/:course_id/assignments/:id',
    feature: 'grade_passback',
    why: "Checks that a remembered assignment still exists and is published before scores are posted to it.",
  },
  {
    id: 'submissions.list',
    method: 'GET',
    path: '/api/v1/courses/:course_id/assignments/:assignment_id/submissions',
    feature: 'grade_passback',
    why: 'Reads the scores Canvas already holds, so only the scores that differ are posted.',
  },
  {
    id: 'submissions.update_grades',
    method: 'POST',
    path: '/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades',
    feature: 'grade_passback',
    why: "Posts many students' scores in one request (Canvas grades them in a background job).",
    sentOnce: true,
  },
  {
    id: 'progress.get',
    method: 'GET',
    path: '/api/v1/progress/:id',
    feature: 'grade_passback',
    why: 'Follows the bulk grade job to its end and reads which students Canvas could not grade.',
  },
] as const satisfies readonly EndpointDeclaration[];

/** Every declared endpoint, keyed by id. A missing or extra id is a compile error. */
export const ENDPOINTS: Readonly<Record<EndpointId, EndpointDeclaration>> = Object.freeze(
  Object.fromEntries(DECLARATIONS.map((d) => [d.id, d])) as Record<EndpointId, EndpointDeclaration>,
);

/** The declarations in registry order (for listing and tests). */
export const ENDPOINT_LIST: readonly EndpointDeclaration[] = DECLARATIONS;

/** Human labels and descriptions of each feature, for the "Scoped token" page, the API and the CLI. */
export const FEATURES: Readonly<Record<Feature, { label: string; description: string; note?: string }>> = {
  connection: {
    label: 'Connection and verification',
    description:
      'Identify the token owner, check account permissions and list roles. Needed by every other feature.',
  },
  course_refresh: {
    label: 'Course refresh',
    description: "List the account's courses and their sections, and refresh a single course.",
  },
  course_refresh_bulk: {
    label: 'Fast course refresh (account report)',
    description:
      'Run the provisioning_csv account report so a full refresh takes one report instead of one request per course. Needs "Reports - manage" on the token owner\'s role.',
    note:
      "The report file is downloaded from the URL Canvas gives (a file download, not an /api/v1 route); whether a scoped token may download it without extra scopes is unverified in Canvas's documentation. If the download is refused, the refresh falls back to the REST path.",
  },
  roster_sync: {
    label: 'Roster sync',
    description: "Read a course's enrollments (role, state, section and each person's ids) to find exam-takers and their sections.",
  },
  grade_passback: {
    label: 'Grade passback',
    description:
      "Create each exam's assignment, read the scores Canvas holds and post exam scores in bulk. Needs \"Grades - edit\" (manage_grades) on the token owner's role.",
  },
};

/** The features an integration chooses (the others are implied: `connection` always, the bulk refresh with the refresh). */
export const INTEGRATION_FEATURES = ['course_refresh', 'roster_sync', 'grade_passback'] as const;
export type IntegrationFeature = (typeof INTEGRATION_FEATURES)[number];
export const DEFAULT_INTEGRATION_FEATURES: readonly IntegrationFeature[] = ['course_refresh', 'roster_sync'];

/**
 * The registry features an integration's chosen features need: `connection` always, and the
 * report-based refresh along with the course refresh. An integration without `grade_passback`
 * therefore asks for none of the grade scopes.
 */
export function manifestFeatures(chosen: readonly IntegrationFeature[]): Feature[] {
  const out = new Set<Feature>(['connection']);
  for (const f of chosen) {
    out.add(f);
    if (f === 'course_refresh') out.add('course_refresh_bulk');
  }
  return (Object.keys(FEATURES) as Feature[]).filter((f) => out.has(f));
}

const ALL_FEATURES = Object.keys(FEATURES) as Feature[];

/** Canvas's scope string for a declared endpoint, e.g. `url:GET|/api/v1/accounts/:account_id/courses`. */
export function scopeFor(id: EndpointId): string {
  const ep = ENDPOINTS[id];
  if (!ep) throw new Error(`Undeclared Canvas endpoint: ${String(id)}`);
  return `url:${ep.method}|${ep.path}`;
}

/**
 * The exact scope list a developer key needs for the given features (default: all), sorted and
 * deduplicated, ready to paste into the key's scope list or to send as the `scope` parameter.
 */
export function scopesFor(features: readonly Feature[] = ALL_FEATURES): string[] {
  const wanted = new Set(features);
  const scopes = new Set(ENDPOINT_LIST.filter((e) => wanted.has(e.feature)).map((e) => scopeFor(e.id)));
  return [...scopes].sort();
}

/** The endpoints a feature calls (for the "Scoped token" page's per-feature explanation). */
export function endpointsFor(feature: Feature): EndpointDeclaration[] {
  return ENDPOINT_LIST.filter((e) => e.feature === feature);
}

/** Type guard for feature names coming from query strings or CLI flags. */
export function isFeature(value: string): value is Feature {
  return (ALL_FEATURES as string[]).includes(value);
}

/** Type guard for endpoint ids coming from outside the type system. */
export function isEndpointId(value: string): value is EndpointId {
  return Object.prototype.hasOwnProperty.call(ENDPOINTS, value);
}

function scopeRegex(template: string): RegExp {
  // Mirrors AccessToken#url_scopes_for_method: escape, then :param -> [^/]+, *glob -> .+,
  // (optional) -> (?:…|), and an optional .format suffix; anchored at both ends.
  let src = '';
  for (let i = 0; i < template.length; ) {
    const ch = template[i]!;
    if (ch === ':' || ch === '*') {
      let j = i + 1;
      while (j < template.length && /[A-Za-z0-9_]/.test(template[j]!)) j++;
      src += ch === ':' ? '[^/]+' : '.+';
      i = j;
    } else if (ch === '(') {
      src += '(?:';
      i++;
    } else if (ch === ')') {
      src += '|)';
      i++;
    } else {
      src += ch.replace(/[.*+?^${}|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${src}(?:\\.[^/]+|)$`);
}

/**
 * Whether a Canvas scope string covers a request, the way Canvas decides it:
 * HEAD counts as GET, the query string is ignored, `:param` matches one segment, `*glob` many,
 * and an optional `.json`-style suffix is allowed. Used to tell WHICH scope a refused call needed.
 */
export function scopeMatches(scope: string, method: string, path: string): boolean {
  const m = /^url:([A-Z]+)\|(.+)$/.exec(scope);
  if (!m) return false;
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  if (m[1] !== verb) return false;
  let p = path;
  try {
    if (/^https?:\/\//i.test(p)) p = new URL(p).pathname;
  } catch {
    return false;
  }
  p = p.split(/[?#]/)[0]!;
  return scopeRegex(m[2]!).test(p);
}

/** The declared endpoint (if any) whose scope covers a request; `undefined` when none does. */
export function endpointForRequest(method: string, path: string): EndpointDeclaration | undefined {
  return ENDPOINT_LIST.find((e) => scopeMatches(scopeFor(e.id), method, path));
}

/**
 * Parses the missing scopes out of Canvas's `invalid_scope` description
 * (`… The following scopes were requested, but not granted: a, b, and c`), which joins them with
 * Rails `to_sentence` (`a`, `a and b`, `a, b, and c`; an empty list leaves a trailing space).
 * Returns `[]` when the description has no such list. Scope strings never contain spaces or commas.
 */
export function parseMissingScopes(description: string): string[] {
  const text = description.replace(/\+/g, ' ');
  const marker = 'not granted:';
  const at = text.indexOf(marker);
  if (at < 0) return [];
  return text
    .slice(at + marker.length)
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'and');
}
