import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LEGACY_AUDIT_ACTIONS, auditActionName } from '../../src/http/presenters/audit-action.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOT_STYLE = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** Every `action: '…'` / `action: \`…\`` passed to audit.record in src (the sandbox excepted). */
function recordedActions(): Array<{ file: string; action: string }> {
  const out: Array<{ file: string; action: string }> = [];
  for (const f of sourceFiles(join(ROOT, 'src'))) {
    const rel = relative(ROOT, f);
    if (rel.startsWith(join('src', 'simulator'))) continue;
    const src = readFileSync(f, 'utf8');
    for (const call of src.matchAll(/audit\.record\(([\s\S]*?)\);/g)) {
      const action = /\baction:\s*(['`])([^'`]+)\1/.exec(call[1]!);
      out.push({ file: rel, action: action ? action[2]!.replace(/\$\{[^}]+\}/g, 'kind') : '(not a literal)' });
    }
  }
  return out;
}

describe('audit action names', () => {
  it('records every action in one style, <subject>.<event>', () => {
    const actions = recordedActions();
    expect(actions.length).toBeGreaterThan(25);
    expect(actions.filter((a) => !DOT_STYLE.test(a.action))).toEqual([]);
  });

  it('maps every name stored before the convention to a name the code records now', () => {
    const current = new Set(recordedActions().map((a) => a.action));
    for (const [old, now] of Object.entries(LEGACY_AUDIT_ACTIONS)) {
      expect(DOT_STYLE.test(old)).toBe(false);
      expect([old, current.has(now)]).toEqual([old, true]);
      expect(auditActionName(old)).toBe(now);
    }
  });

  it('passes current and unknown names through unchanged', () => {
    expect(auditActionName('integration.created')).toBe('integration.created');
    expect(auditActionName('something_new')).toBe('something_new');
    expect(auditActionName('toString')).toBe('toString');
  });
});
