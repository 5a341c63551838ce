import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/**
 * Post/Redirect/Get: every POST page route answers with a redirect, so a reload never sends a form
 * again. Only these may render a page on the POST itself, each for the reason given. A new route
 * that renders on its POST (directly or through a helper of its file that renders) fails here.
 */
const MAY_RENDER: Record<string, string> = {
  'POST /settings/api-tokens': 'shows the new API token once; it is stored nowhere (not even in the session), so no later GET could show it',
  'POST /webhooks': "shows the new endpoint's signing secret once; it is stored encrypted and never shown again",
  'POST /integrations/:id/setup-link': 'shows the new setup link (a credential) once; it is stored nowhere',
  'POST /login': 'a refused sign-in answers 401, and a throttled one 429 with Retry-After, which the sign-in limits rely on; it changes nothing a reload could repeat beyond counting one more attempt',
};

const ROUTES_DIR = join(process.cwd(), 'src/http/routes');

interface Segment {
  kind: 'post' | 'other-route' | 'helper' | 'top';
  name: string;
  start: number;
}

/**
 * Splits a route file where each route handler begins, and where each function declared at the
 * top of the file or of its router factory (indented at most two spaces) begins.
 */
function segments(source: string): Segment[] {
  const out: Segment[] = [{ kind: 'top', name: '(top of file)', start: 0 }];
  const re = /router\.(get|post|put|patch|delete|all|use)\(\s*(`[^`]*`|'[^']*'|\w+)|^ {0,2}(?:export\s+)?(?:async\s+)?function\s+(\w+)\s*\(|^ {0,2}const\s+(\w+)\s*=\s*(?:async\s*)?(?:\(|function\b)/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m[1]) out.push({ kind: m[1] === 'post' ? 'post' : 'other-route', name: `${m[1].toUpperCase()} ${/^\w+$/.test(m[2]!) ? `\${${m[2]}}` : m[2]!.slice(1, -1)}`, start: m.index });
    else out.push({ kind: 'helper', name: (m[3] ?? m[4])!, start: m.index });
  }
  return out;
}

/** `base` and other constants a route path is built from, resolved from the file's own `const x = '…'`. */
function resolvePath(name: string, source: string): string {
  return name.replace(/\$\{(\w+)\}/g, (_all, v: string) => new RegExp(`const ${v} = '([^']*)'`).exec(source)?.[1] ?? `\${${v}}`);
}

function renderingPostRoutes(): { renders: Set<string>; pagePosts: Set<string>; strayRenders: string[] } {
  const renders = new Set<string>();
  const pagePosts = new Set<string>();
  const strayRenders: string[] = [];
  for (const file of readdirSync(ROUTES_DIR).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(ROUTES_DIR, file), 'utf8');
    const segs = segments(source);
    const textOf = (i: number) => source.slice(segs[i]!.start, segs[i + 1]?.start ?? source.length);
    // Helpers that render a page; a factory (createXRouter) holds the routes and is not one.
    const helpers = segs.filter((s, i) => s.kind === 'helper' && !/^create\w*Router$/.test(s.name) && /\.render\(/.test(textOf(i))).map((s) => s.name);
    segs.forEach((seg, i) => {
      const text = textOf(i);
      if (seg.kind === 'post') {
        const path = resolvePath(seg.name, source);
        if (path.startsWith('POST /api/')) return;
        pagePosts.add(path);
        if (/\.render\(/.test(text) || helpers.some((h) => new RegExp(`\\b${h}\\(`).test(text))) renders.add(path);
      } else if (seg.kind === 'top' && /\.render\(/.test(text)) {
        strayRenders.push(`${file}: ${seg.name}`);
      }
    });
  }
  return { renders, pagePosts, strayRenders };
}

describe('POST page routes answer with a redirect (Post/Redirect/Get)', () => {
  const found = renderingPostRoutes();

  it('finds the POST page routes (the scan works)', () => {
    expect(found.pagePosts.size).toBeGreaterThan(25);
    for (const path of ['POST /integrations/:id/settings', 'POST /integrations/:id/configure', 'POST /integrations/:id/lti', 'POST /login', 'POST /webhooks'])
      expect(found.pagePosts).toContain(path);
  });

  it('only the allowed routes render on their POST, each for its reason', () => {
    expect([...found.renders].sort()).toEqual(Object.keys(MAY_RENDER).sort());
  });

  it('every page is rendered inside a route handler or a named helper (so the scan sees it)', () => {
    expect(found.strayRenders).toEqual([]);
  });

  it('the allow-list names only routes that exist', () => {
    for (const path of Object.keys(MAY_RENDER)) expect(found.pagePosts).toContain(path);
  });
});
