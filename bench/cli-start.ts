/**
 * How long `canvas-companion staff list` takes as a fresh process, with the CLI's container as it is
 * (ltijs loaded only when a command saves an LTI registration) and, for comparison, with the LTI
 * feature set up at start as the CLI used to. Runs alternate, so both see the same machine load.
 *
 *   npx tsx bench/cli-start.ts [rounds=5]
 *
 * (`--lti-at-start` is this script's own flag for the comparison runs.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (process.argv.includes('--lti-at-start')) {
  const { runCli } = await import('../src/cli/main.js');
  const { loadConfig } = await import('../src/config/config.js');
  const { createContainer } = await import('../src/container.js');
  const { createLogger } = await import('../src/logger/logger.js');
  const code = await runCli(['staff', 'list'], process.env, undefined, async () =>
    createContainer(loadConfig(process.env), { logger: createLogger('warn', process.stderr), lti: true }),
  );
  process.exit(code);
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-bench-cli-'));
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: '' };
  const time = (args: string[]) => {
    const t0 = performance.now();
    execFileSync(process.execPath, ['--import', 'tsx', ...args], { env, stdio: 'ignore' });
    return (performance.now() - t0) / 1000;
  };
  const now: number[] = [];
  const before: number[] = [];
  try {
    time(['src/cli/main.ts', 'staff', 'list']); // creates and migrates the database once
    for (let i = 0; i < rounds; i++) {
      now.push(time(['src/cli/main.ts', 'staff', 'list']));
      before.push(time([import.meta.filename, '--lti-at-start']));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN).toFixed(2);
  console.log(`staff list, ${rounds} rounds (median s): ltijs on demand ${median(now)} | LTI set up at start ${median(before)}`);
}
