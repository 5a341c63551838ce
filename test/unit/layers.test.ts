import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/**
 * The layers of docs/architecture.md: an import may point down or stay in its layer, never up.
 * A new top-level folder of src/ must be placed here (the test fails until it is).
 */
const LAYERS: Record<string, number> = {
  // foundations
  store: 0,
  vault: 0,
  config: 0,
  errors: 0,
  logger: 0,
  net: 0,
  metrics: 0,
  text: 0,
  // adapters
  oauth: 1,
  canvas: 1,
  jobs: 1,
  lti: 1,
  audit: 1,
  // application services
  integrations: 2,
  sync: 2,
  staff: 2,
  changes: 2,
  'sync-list': 2,
  webhooks: 2,
  grades: 2,
  // entry points and the composition root
  http: 3,
  cli: 3,
  'main.ts': 3,
  'demo.ts': 3,
  'demo-setup.ts': 3,
  'app.ts': 3,
  'container.ts': 3,
};
/** Stands apart: imports nothing of the product, and nothing of the product imports it except entry points. */
const APART = 'simulator';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const topOf = (file: string) => relative(SRC, file).split('/')[0]!;

function relativeImports(file: string): Array<{ target: string; line: number }> {
  const source = readFileSync(file, 'utf8');
  const out: Array<{ target: string; line: number }> = [];
  for (const m of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g)) {
    out.push({
      target: resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')),
      line: source.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

describe('layers: imports point down only', () => {
  const files = sourceFiles(SRC);

  it('every top-level folder of src/ has a layer', () => {
    const tops = [...new Set(files.map(topOf))].filter((t) => t !== APART);
    expect(tops.filter((t) => LAYERS[t] === undefined)).toEqual([]);
  });

  it('no import runs back up a layer', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = LAYERS[topOf(file)];
      if (from === undefined) continue;
      for (const { target, line } of relativeImports(file)) {
        const to = LAYERS[topOf(target)];
        if (to !== undefined && to > from) upward.push(`${relative(SRC, file)}:${line} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the sandbox imports nothing of the product, and only entry points import the sandbox', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const top = topOf(file);
      for (const { target, line } of relativeImports(file)) {
        const targetTop = topOf(target);
        if (top === APART && targetTop !== APART) wrong.push(`${relative(SRC, file)}:${line} -> ${relative(SRC, target)}`);
        if (top !== APART && targetTop === APART && LAYERS[top] !== 3) wrong.push(`${relative(SRC, file)}:${line} -> ${relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
