import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ENDPOINTS,
  ENDPOINT_LIST,
  FEATURES,
  endpointForRequest,
  parseMissingScopes,
  scopeFor,
  scopeMatches,
  scopesFor,
} from '../../src/canvas/endpoints.js';
import type { EndpointId } from '../../src/canvas/types.js';

const ROOT = join(import.meta.dirname, '..', '..');

function endpointIdsInTypes(): string[] {
  const src = readFileSync(join(ROOT, 'src/canvas/types.ts'), 'utf8');
  const m = /export type EndpointId =([^;]+);/.exec(src);
  if (!m) throw new Error('EndpointId union not found in types.ts');
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

describe('endpoint registry', () => {
  it('derives a Canvas-format scope string for every declared endpoint', () => {
    for (const ep of ENDPOINT_LIST) {
      expect(scopeFor(ep.id)).toMatch(/^url:(GET|POST|PUT|DELETE|PATCH)\|\/api\/v1\/[a-z_/:]+$/);
    }
  });

  it('declares every EndpointId of types.ts exactly once and nothing else', () => {
    const ids = ENDPOINT_LIST.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(endpointIdsInTypes().sort());
    expect(Object.keys(ENDPOINTS).sort()).toEqual(endpointIdsInTypes().sort());
  });

  it("uses Canvas's own route templates for the scopes the brief pins", () => {
    expect(scopeFor('users.self')).toBe('url:GET|/api/v1/users/:id');
    expect(scopeFor('courses.get')).toBe('url:GET|/api/v1/courses/:id');
    expect(scopeFor('accounts.courses')).toBe('url:GET|/api/v1/accounts/:account_id/courses');
    expect(scopeFor('accounts.permissions')).toBe('url:GET|/api/v1/accounts/:account_id/permissions');
    expect(scopeFor('accounts.reports.start')).toBe('url:POST|/api/v1/accounts/:account_id/reports/:report');
    expect(scopeFor('accounts.reports.status')).toBe('url:GET|/api/v1/accounts/:account_id/reports/:report/:id');
    expect(scopeFor('courses.sections')).toBe('url:GET|/api/v1/courses/:course_id/sections');
    expect(scopeFor('courses.enrollments')).toBe('url:GET|/api/v1/courses/:course_id/enrollments');
  });

  it('groups endpoints into the four features the scoped-token page offers', () => {
    const byFeature = (f: keyof typeof FEATURES) =>
      ENDPOINT_LIST.filter((e) => e.feature === f)
        .map((e) => e.id)
        .sort();
    expect(byFeature('connection')).toEqual(
      expect.arrayContaining(['users.self', 'accounts.permissions', 'accounts.roles']),
    );
    expect(byFeature('course_refresh')).toEqual(['accounts.courses', 'courses.get', 'courses.sections']);
    expect(byFeature('course_refresh_bulk')).toEqual(['accounts.get', 'accounts.reports.start', 'accounts.reports.status']);
    expect(byFeature('roster_sync')).toEqual(['courses.enrollments']);
    for (const f of Object.values(FEATURES)) {
      expect(f.label.length).toBeGreaterThan(0);
      expect(f.description.length).toBeGreaterThan(0);
    }
  });

  it('lists scopes sorted and deduplicated, all features by default', () => {
    const all = scopesFor();
    expect(all).toEqual([...new Set(all)].sort());
    expect(all).toHaveLength(ENDPOINT_LIST.length);
    expect(scopesFor(['roster_sync'])).toEqual(['url:GET|/api/v1/courses/:course_id/enrollments']);
    expect(scopesFor(['roster_sync', 'roster_sync'])).toEqual(scopesFor(['roster_sync']));
    expect(scopesFor([])).toEqual([]);
  });

  it('refuses an undeclared endpoint id at runtime', () => {
    expect(() => scopeFor('courses.delete' as EndpointId)).toThrow(/Undeclared/);
  });
});

describe('scopeMatches (Canvas url_scopes_for_method)', () => {
  it('matches /api/v1/users/self with url:GET|/api/v1/users/:id', () => {
    expect(scopeMatches('url:GET|/api/v1/users/:id', 'GET', '/api/v1/users/self')).toBe(true);
  });

  it('treats :param as one segment, ignores the query string, allows a .json suffix', () => {
    const s = 'url:GET|/api/v1/courses/:course_id/sections';
    expect(scopeMatches(s, 'GET', '/api/v1/courses/12/sections?per_page=100&include[]=x')).toBe(true);
    expect(scopeMatches(s, 'GET', '/api/v1/courses/sis_course_id:ABC/sections')).toBe(true);
    expect(scopeMatches(s, 'GET', '/api/v1/courses/12/sections.json')).toBe(true);
    expect(scopeMatches(s, 'GET', '/api/v1/courses/12/34/sections')).toBe(false);
    expect(scopeMatches(s, 'GET', '/api/v1/courses//sections')).toBe(false);
  });

  it('is anchored at both ends', () => {
    const s = 'url:GET|/api/v1/courses/:id';
    expect(scopeMatches(s, 'GET', '/api/v1/courses/12/sections')).toBe(false);
    expect(scopeMatches(s, 'GET', '/x/api/v1/courses/12')).toBe(false);
    expect(scopeMatches(s, 'GET', '/api/v1/courses/12')).toBe(true);
  });

  it('compares the verb, counting HEAD as GET', () => {
    const s = 'url:GET|/api/v1/accounts/:account_id/courses';
    expect(scopeMatches(s, 'HEAD', '/api/v1/accounts/1/courses')).toBe(true);
    expect(scopeMatches(s, 'POST', '/api/v1/accounts/1/courses')).toBe(false);
    expect(scopeMatches('url:POST|/api/v1/accounts/:account_id/reports/:report', 'post', '/api/v1/accounts/1/reports/provisioning_csv')).toBe(true);
  });

  it('handles *glob and (optional) segments', () => {
    expect(scopeMatches('url:GET|/api/v1/files/*path', 'GET', '/api/v1/files/a/b/c')).toBe(true);
    expect(scopeMatches('url:GET|/api/v1/files(/:id)', 'GET', '/api/v1/files')).toBe(true);
    expect(scopeMatches('url:GET|/api/v1/files(/:id)', 'GET', '/api/v1/files/3')).toBe(true);
  });

  it('accepts absolute URLs and rejects non-url scopes', () => {
    expect(scopeMatches('url:GET|/api/v1/accounts', 'GET', 'https://s.instructure.com/api/v1/accounts?page=2')).toBe(true);
    expect(scopeMatches('/auth/userinfo', 'GET', '/api/v1/accounts')).toBe(false);
  });

  it('finds which declared endpoint a refused call belonged to', () => {
    expect(endpointForRequest('GET', '/api/v1/users/self')?.id).toBe('users.self');
    expect(endpointForRequest('GET', '/api/v1/accounts/1/reports/provisioning_csv/77')?.id).toBe('accounts.reports.status');
    expect(endpointForRequest('DELETE', '/api/v1/courses/1')).toBeUndefined();
  });
});

describe('parseMissingScopes (Rails to_sentence)', () => {
  const prefix =
    'A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: ';

  it('parses one scope', () => {
    expect(parseMissingScopes(`${prefix}url:GET|/api/v1/users/:id`)).toEqual(['url:GET|/api/v1/users/:id']);
  });

  it('parses two scopes joined by "and"', () => {
    expect(parseMissingScopes(`${prefix}url:GET|/api/v1/users/:id and url:GET|/api/v1/accounts`)).toEqual([
      'url:GET|/api/v1/users/:id',
      'url:GET|/api/v1/accounts',
    ]);
  });

  it('parses three or more with the serial comma', () => {
    expect(
      parseMissingScopes(
        `${prefix}url:GET|/api/v1/users/:id, url:GET|/api/v1/accounts, url:GET|/api/v1/courses/:id, and url:POST|/api/v1/accounts/:account_id/reports/:report`,
      ),
    ).toEqual([
      'url:GET|/api/v1/users/:id',
      'url:GET|/api/v1/accounts',
      'url:GET|/api/v1/courses/:id',
      'url:POST|/api/v1/accounts/:account_id/reports/:report',
    ]);
  });

  it('returns [] for the empty list (trailing space) and for unrelated text', () => {
    expect(parseMissingScopes(prefix)).toEqual([]);
    expect(parseMissingScopes('Client does not have access to the specified Canvas account.')).toEqual([]);
  });

  it('reads a form-encoded description (+ for spaces)', () => {
    expect(parseMissingScopes(`${prefix}url:GET|/api/v1/users/:id and url:GET|/api/v1/accounts`.replace(/ /g, '+'))).toEqual([
      'url:GET|/api/v1/users/:id',
      'url:GET|/api/v1/accounts',
    ]);
  });
});

describe('registry coverage of the source tree', () => {
  const files = sourceFiles(join(ROOT, 'src'));

  it("declares every endpoint the code calls (every `endpoint: '<id>'`)", () => {
    const used = new Map<string, string>();
    for (const f of files) {
      const src = stripComments(readFileSync(f, 'utf8'));
      for (const m of src.matchAll(/\bendpoint:\s*['"]([a-z_.]+)['"]/g)) used.set(m[1]!, relative(ROOT, f));
    }
    const undeclared = [...used].filter(([id]) => !(id in ENDPOINTS));
    expect(undeclared).toEqual([]);
  });

  it('calls every declared endpoint somewhere in src, so the scope manifest asks for nothing unused', () => {
    // A call names its endpoint id as a string literal outside src/canvas (`endpoint: 'courses.get'`,
    // or a probe table `['enrollments', 'courses.enrollments']`); a key of a lookup table
    // (`'users.self': '…'`) is not a call.
    const called = new Set<string>();
    for (const f of files) {
      const rel = relative(ROOT, f).split('\\').join('/');
      if (rel.startsWith('src/canvas/') || rel.startsWith('src/simulator/')) continue;
      const src = stripComments(readFileSync(f, 'utf8'));
      for (const m of src.matchAll(/['"]([a-z_]+(?:\.[a-z_]+)+)['"](?!\s*:)/g)) called.add(m[1]!);
    }
    const uncalled = ENDPOINT_LIST.map((e) => e.id).filter((id) => !called.has(id));
    expect(uncalled).toEqual([]);
  });

  it('builds no Canvas /api/v1 URL outside src/canvas (the simulator excepted)', () => {
    const offenders: string[] = [];
    const canvasApiLiteral = /['"`][^'"`\n]*\/api\/v1\/(?:users|accounts|courses|sections)\b/;
    for (const f of files) {
      const rel = relative(ROOT, f).split('\\').join('/');
      if (rel.startsWith('src/canvas/') || rel.startsWith('src/simulator/')) continue;
      const src = stripComments(readFileSync(f, 'utf8'));
      if (canvasApiLiteral.test(src)) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });
});
