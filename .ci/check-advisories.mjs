#!/usr/bin/env node
// Fails (exit 1) when a production dependency has a known high or critical advisory.
//
// 1. `npm audit --omit=dev --audit-level=high --json`: the real advisory database, wherever the
//    registry's advisory endpoint answers.
// 2. When it does not (this workplace's registry proxy answers 405 to npm audit's POST), the
//    production packages in package-lock.json are checked against the snapshot in
//    .ci/advisories.json, and the output says so. The snapshot only knows what was recorded in it.
//
// `node .ci/check-advisories.mjs --self-test` checks the offline matcher on made-up lockfiles.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BLOCKING = new Set(['high', 'critical']);

/** `1.2.3-beta.1` → [[1, 2, 3], 'beta.1']; a missing part counts as 0. */
function parse(version) {
  const [core, pre = ''] = String(version).split('+')[0].split(/-(.*)/s);
  const nums = core.split('.').map((n) => Number.parseInt(n, 10) || 0);
  while (nums.length < 3) nums.push(0);
  return [nums, pre];
}

/** Negative, zero or positive like a comparator; a pre-release sorts before its release. */
export function compareVersions(a, b) {
  const [na, pa] = parse(a);
  const [nb, pb] = parse(b);
  for (let i = 0; i < 3; i++) if (na[i] !== nb[i]) return na[i] - nb[i];
  if (pa === pb) return 0;
  if (!pa) return 1;
  if (!pb) return -1;
  return pa < pb ? -1 : 1;
}

const affected = (version, ranges) =>
  ranges.some((r) => compareVersions(version, r.introduced) >= 0 && (r.fixed === undefined || compareVersions(version, r.fixed) < 0));

/** Every production (non-dev) package in a lockfile v2/v3: `{ name, version, path }`. */
export function productionPackages(lock) {
  return Object.entries(lock.packages ?? {})
    .filter(([path, p]) => path !== '' && !p.dev && !p.link)
    .map(([path, p]) => ({ name: p.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: p.version, path }));
}

/** The blocking advisories that apply to these packages: `[{ advisory, pkg }]`. */
export function findings(packages, advisories) {
  const out = [];
  for (const pkg of packages) {
    for (const advisory of advisories) {
      if (advisory.package === pkg.name && BLOCKING.has(advisory.severity) && affected(pkg.version, advisory.ranges)) out.push({ advisory, pkg });
    }
  }
  return out;
}

function runNpmAudit() {
  return new Promise((resolve) => {
    execFile('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: ROOT, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ error: { summary: err ? err.message : 'npm audit printed no JSON' } });
      }
    });
  });
}

function selfTest() {
  const snapshot = JSON.parse(readFileSync(join(ROOT, '.ci/advisories.json'), 'utf8')).advisories;
  const lock = (pkgs) => ({ packages: { '': {}, ...pkgs } });
  const check = (name, got, want) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      console.error(`self-test failed: ${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      process.exit(1);
    }
  };
  check('pre-release sorts first', [compareVersions('1.0.0-beta.1', '1.0.0') < 0, compareVersions('0.30.0', '0.21.4') > 0, compareVersions('10.0.0', '9.9.9') > 0], [true, true, true]);
  const bad = lock({
    'node_modules/axios': { version: '0.21.4' },
    'node_modules/a/node_modules/jsonwebtoken': { version: '8.5.1' },
    'node_modules/dev-only/node_modules/mysql2': { version: '2.3.3', dev: true },
  });
  check('finds axios and a nested jsonwebtoken, skips dev packages', [...new Set(findings(productionPackages(bad), snapshot).map((f) => f.pkg.name))], ['axios', 'jsonwebtoken']);
  const good = lock({ 'node_modules/axios': { version: '1.12.0' }, 'node_modules/jsonwebtoken': { version: '9.0.3' }, 'node_modules/mysql2': { version: '3.9.8' } });
  check('fixed versions pass', findings(productionPackages(good), snapshot), []);
  console.log('advisory check self-test: 4 passed, 0 failed');
}

async function main() {
  if (process.argv.includes('--self-test')) return selfTest();
  const report = await runNpmAudit();
  if (report.metadata?.vulnerabilities) {
    const blocking = Object.values(report.vulnerabilities ?? {}).filter((v) => BLOCKING.has(v.severity));
    for (const v of blocking) {
      const via = v.via.map((x) => (typeof x === 'string' ? `via ${x}` : `${x.url ?? x.source} ${x.title}`)).join('; ');
      console.error(`${v.severity}: ${v.name} ${v.range} — ${via}`);
    }
    console.log(`npm audit (production dependencies): ${blocking.length} package(s) with high or critical advisories`);
    process.exit(blocking.length > 0 ? 1 : 0);
  }
  const reason = report.error?.summary || report.message || 'no report';
  const snapshot = JSON.parse(readFileSync(join(ROOT, '.ci/advisories.json'), 'utf8'));
  console.log(`npm audit is not available here (${String(reason).split('\n')[0]}); checking against the offline snapshot .ci/advisories.json (${snapshot.advisories.length} advisories, reviewed ${snapshot.reviewed})`);
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const packages = productionPackages(lock);
  const found = findings(packages, snapshot.advisories);
  for (const { advisory, pkg } of found) {
    const fixed = advisory.ranges.map((r) => r.fixed).filter(Boolean).join(' / ');
    console.error(`${advisory.severity}: ${pkg.name}@${pkg.version} (${pkg.path}) — ${advisory.id} ${advisory.title}; fixed in ${fixed}`);
  }
  console.log(`${packages.length} production packages checked: ${found.length} high or critical advisory match(es)`);
  process.exit(found.length > 0 ? 1 : 0);
}

await main();
