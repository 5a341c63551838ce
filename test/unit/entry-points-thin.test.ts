import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY_DIRS = ['src/http/routes', 'src/cli/commands'];

/**
 * Entry points that may reach the store, each with its reason. Nothing else may: a new exception
 * has to be added here, where a reviewer sees it.
 */
const STORE_ALLOWED: Record<string, string> = {
  // `db migrate`: a maintenance command about the database itself.
  'src/cli/commands/db.ts': 'db migrate',
};

interface Violation {
  file: string;
  rule: string;
  line: number;
  text: string;
}

/** The module specifiers a source file imports (static `import … from`, side-effect and dynamic imports). */
function importsOf(source: string): Array<{ spec: string; line: number; typeOnly: boolean }> {
  const found: Array<{ spec: string; line: number; typeOnly: boolean }> = [];
  const re = /(?:^|\n)\s*import\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[2] ?? m[3]!;
    const line = source.slice(0, (m.index ?? 0) + m[0].length).split('\n').length;
    found.push({ spec, line, typeOnly: Boolean(m[1]) });
  }
  return found;
}

/**
 * What makes an entry point fat: SQL, the store, the Canvas client, audit writes, or another
 * route. Entry points parse input, call application services, and present the result.
 */
function entryPointViolations(file: string, source: string): Violation[] {
  const out: Violation[] = [];
  const lines = source.split('\n');
  const add = (rule: string, line: number) => out.push({ file, rule, line, text: (lines[line - 1] ?? '').trim() });

  for (const { spec, line, typeOnly } of importsOf(source)) {
    if (spec === 'kysely' || spec.startsWith('kysely/')) add('imports kysely (SQL belongs in a repository behind a service)', line);
    if (/(^|\/)store\//.test(spec) && !STORE_ALLOWED[file]) add('imports the store (call an application service)', line);
    if (/(^|\/)canvas\/client(\.js)?$/.test(spec)) add('imports the Canvas client (Canvas calls belong in a service)', line);
    if (/(^|\/)audit\/audit-log(\.js)?$/.test(spec) && !typeOnly) add('imports the audit log (the service writes the audit entry)', line);
    if (/(^|\/)lti\/launch-store(\.js)?$/.test(spec) && !typeOnly) add('imports the LTI launch store (use the LTI services)', line);
    if (file.startsWith('src/http/routes/') && /^\.\/[^/]+$/.test(spec)) add('a route imports another route (move the shared piece to presenters/ or a service)', line);
  }
  lines.forEach((text, i) => {
    if (/\.(selectFrom|insertInto|updateTable|deleteFrom|selectNoFrom)\s*\(/.test(text)) add('runs a query', i + 1);
    if (/\bsql\s*`/.test(text)) add('runs raw SQL', i + 1);
    if (/\baudit\.record\s*\(/.test(text)) add('writes the audit log', i + 1);
    if (/\.canvasFor\s*\(|\bcreateCanvasClient\s*\(/.test(text)) add('calls Canvas', i + 1);
    if (/\.store\.db\b/.test(text) && !STORE_ALLOWED[file]) add('uses the database handle', i + 1);
  });
  return out;
}

function entryFiles(): string[] {
  return ENTRY_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => relative(ROOT, join(ROOT, dir, f)).split('\\').join('/')),
  );
}

describe('entry points are thin', () => {
  it('finds the pages, JSON API and CLI files it scans', () => {
    const files = entryFiles();
    expect(files).toEqual(expect.arrayContaining(['src/http/routes/lti.ts', 'src/http/routes/integrations-api.ts', 'src/cli/commands/integrations.ts']));
  });

  it('no route or CLI command runs SQL, calls Canvas, writes the audit log or imports another route', () => {
    const violations = entryFiles().flatMap((f) => entryPointViolations(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(violations).toEqual([]);
  });

  it('the scan recognises each kind of violation', () => {
    const fat = [
      "import { sql, type Kysely } from 'kysely';",
      "import { openStore } from '../../store/database.js';",
      "import { createCanvasClient } from '../../canvas/client.js';",
      "import { presentJob } from './jobs.js';",
      "import { createLaunchStore } from '../../lti/launch-store.js';",
      "const rows = await db.selectFrom('courses').selectAll().execute();",
      "await c.store.db.deleteFrom('jobs').execute();",
      "await c.audit.record({ actor: 'x', action: 'y' });",
      'const n = await sql`select 1`.execute(db);',
      'for await (const p of c.canvasFor(i).pages(req, auth)) {}',
    ].join('\n');
    const rules = entryPointViolations('src/http/routes/example.ts', fat).map((v) => v.line);
    expect(new Set(rules)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  });

  it('allows presenters, services and type-only imports', () => {
    const thin = [
      "import type { HandoffPayload } from '../../lti/launch-store.js';",
      "import { presentJob } from '../presenters/job.js';",
      "import type { Container } from '../../container.js';",
      'const job = await c.sync.startRefresh(id);',
    ].join('\n');
    expect(entryPointViolations('src/http/routes/example.ts', thin)).toEqual([]);
  });

  it('CLI commands may share helpers with each other; only routes are kept apart', () => {
    expect(entryPointViolations('src/cli/commands/jobs.ts', "import { reportJob } from './refresh.js';")).toEqual([]);
  });
});
