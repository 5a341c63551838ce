/**
 * What platform storage costs a launch: `npx tsx bench/lti-launch-paths.ts [-- --launches 30]`.
 *
 * Boots the sandbox and the service in this process (SQLite, the LTI test harness) and runs the same
 * admin launch, from Canvas's link to the signed-in page, on the cookie path (no
 * `lti_storage_target`) and on the platform-storage path (the browser's storage answers played by
 * the harness's browser, so the figure is the server side plus loopback HTTP: one extra page and
 * one extra POST). Prints p50/p95 wall time per launch for each path, and the difference.
 */
import { parseArgs } from 'node:util';
import { launchUntilForm, miniBrowser, startLtiHarness, USERS } from '../test/support/lti-harness.js';

const { values: args } = parseArgs({ options: { launches: { type: 'string', default: '30' } } });
const launches = Math.max(5, Number(args.launches));

const h = await startLtiHarness();
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function launch(storage: boolean): Promise<number> {
  const b = miniBrowser({ platformStorage: storage });
  const t0 = performance.now();
  const landed = await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation', ...(storage ? {} : { mobile: '1' }) }));
  const ms = performance.now() - t0;
  if (!landed.url.endsWith(`/integrations/${h.integrationA}`)) throw new Error(`launch (storage: ${storage}) ended at ${landed.url} (${landed.status})`);
  return ms;
}

/** Alternates the two paths so that warm-up and a busy machine weigh on both alike. */
async function runBoth(): Promise<{ cookie: number[]; storage: number[] }> {
  const cookie: number[] = [];
  const storage: number[] = [];
  for (let i = 0; i < 3; i++) await Promise.all([launch(false), launch(true)]); // warm-up: caches and the JIT
  for (let i = 0; i < launches; i++) {
    cookie.push(await launch(false));
    storage.push(await launch(true));
  }
  return { cookie, storage };
}

try {
  const { cookie, storage } = await runBoth();
  const line = (name: string, xs: number[]) => `${name.padEnd(18)} p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms   p95 ${pct(xs, 95).toFixed(1).padStart(6)} ms   (${xs.length} launches)`;
  console.log(line('cookie path', cookie));
  console.log(line('platform storage', storage));
  console.log(`difference at p50: ${(pct(storage, 50) - pct(cookie, 50)).toFixed(1)} ms per launch (browser-side postMessages not included)`);
} finally {
  await h.close();
}
