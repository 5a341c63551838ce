import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every check a page can show has a human label: a check without one would be shown by its
 * internal name (`grade_scopes`).
 */
describe('check labels', () => {
  const template = readFileSync(join('views', 'integrations', '_checks.eta'), 'utf8');
  const labelled = new Set([...(/LABELS = \{([^}]*)\}/.exec(template)?.[1] ?? '').matchAll(/(\w+):/g)].map((m) => m[1]));
  const dir = join('src', 'integrations');
  const named = new Set<string>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/(?:\bname: |\bfail\()'([a-z_]+)'/g)) named.add(m[1]!);
  }

  it('finds the checks and the labels it compares', () => {
    expect(named.size).toBeGreaterThanOrEqual(10);
    expect(labelled.has('users_self')).toBe(true);
  });

  it('gives every check name the integrations code produces a label', () => {
    expect([...named].filter((n) => !labelled.has(n))).toEqual([]);
  });
});
