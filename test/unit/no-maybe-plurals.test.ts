import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { quantity } from '../../src/text/quantity.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** "section(s)", "ID(s)": a word with a bracketed plural ending. */
const MAYBE_PLURAL = /[a-z]\(s\)/i;

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => relative(ROOT, join(ROOT, dir, f)).split('\\').join('/'));
}

/** Every string a TypeScript or JavaScript file spells out: literals and the text of template literals (not code, not comments). */
function stringsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false, file.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node.text);
    else if (ts.isTemplateExpression(node)) out.push(node.head.text, ...node.templateSpans.map((s) => s.literal.text));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** What an Eta view shows: the text outside its tags, and the quoted strings inside them. */
function viewStrings(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out = [text.replace(/<%[\s\S]*?%>/g, ' ')];
  for (const tag of text.match(/<%[\s\S]*?%>/g) ?? []) out.push(...(tag.match(/'[^'\n]*'|"[^"\n]*"|`[^`]*`/g) ?? []));
  return out;
}

/**
 * User-facing text says "1 section" or "3 sections", never "section(s)": every string of the
 * product's code (src/, the browser scripts in public/) and every view is scanned. The sandbox
 * (src/simulator) plays Canvas and answers with Canvas's own messages, so it is not ours to word.
 */
describe('no "(s)" plurals in user-facing text', () => {
  it('finds none in src/, public/ or views/', () => {
    const code = [...filesUnder('src', '.ts').filter((f) => !f.startsWith('src/simulator/')), ...filesUnder('public', '.js')];
    const found = [
      ...code.flatMap((f) => stringsOf(f).filter((s) => MAYBE_PLURAL.test(s)).map((s) => `${f}: ${s}`)),
      ...filesUnder('views', '.eta').flatMap((f) => viewStrings(f).flatMap((s) => s.split('\n')).filter((s) => MAYBE_PLURAL.test(s)).map((s) => `${f}: ${s.trim()}`)),
    ];
    expect(found).toEqual([]);
  });

  it('the scan sees a "(s)" in a string and ignores one in code', () => {
    expect(MAYBE_PLURAL.test('3 section(s)')).toBe(true);
    expect(MAYBE_PLURAL.test('Deployment ID(s)')).toBe(true);
    expect(stringsOf('src/text/quantity.ts').some((s) => MAYBE_PLURAL.test(s))).toBe(false);
  });

  it('quantity words a count as a person reads it', () => {
    expect([quantity(0, 'section'), quantity(1, 'section'), quantity(3939, 'section'), quantity(2, 'person', 'people')]).toEqual(['0 sections', '1 section', '3,939 sections', '2 people']);
  });
});
