/**
 * Finding (and, where the machine allows, installing) the Chromium the browser suites drive, and
 * the jest globalSetup that does it once per run (the default export; jest loads this file outside
 * its module system, so it imports nothing but Node built-ins). The logic works over injected
 * seams, so test/unit/chromium.test.ts covers every branch without touching the machine;
 * {@link systemDeps} wires it to the real filesystem and shell.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Environment variables naming a Chromium (or Chrome) executable, in the order they are read. */
export const CHROMIUM_ENV_VARS = ['CHROMIUM_PATH', 'PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH'] as const;

/** Where Debian and Ubuntu put Chromium, in the order they are tried. */
export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'] as const;

/** Command names tried on PATH after the fixed paths. */
export const CHROMIUM_COMMANDS = ['chromium', 'chromium-browser'] as const;

/** What the provisioner runs on a Debian-like machine as root. */
export const APT_INSTALL = 'apt-get update -qq && apt-get install -y -qq chromium';

/** What a person is told to do when no Chromium can be found or installed. */
export const INSTALL_HINT =
  'Install Chromium: `sudo apt-get install -y chromium` (Debian/Ubuntu), or point CHROMIUM_PATH at a Chromium or Chrome executable (e.g. CHROMIUM_PATH=/opt/google/chrome/chrome npm test).';

export interface FinderDeps {
  env: Record<string, string | undefined>;
  /** Whether an executable file exists at this absolute path. */
  isExecutable(path: string): boolean;
  /** The absolute path of a command on PATH, or undefined. */
  which(command: string): string | undefined;
}

export type FindResult = { found: true; path: string; via: string } | { found: false; looked: string[]; problem?: string };

/**
 * Looks for Chromium: an explicit environment variable first (a variable naming a missing file is a
 * problem, never silently skipped), then the Debian paths, then PATH.
 */
export function findChromium(deps: FinderDeps): FindResult {
  for (const name of CHROMIUM_ENV_VARS) {
    const value = deps.env[name]?.trim();
    if (!value) continue;
    if (deps.isExecutable(value)) return { found: true, path: value, via: name };
    return { found: false, looked: [value], problem: `${name}=${value} is not an executable file.` };
  }
  for (const path of CHROMIUM_PATHS) {
    if (deps.isExecutable(path)) return { found: true, path, via: path };
  }
  for (const command of CHROMIUM_COMMANDS) {
    const path = deps.which(command);
    if (path && deps.isExecutable(path)) return { found: true, path, via: `PATH (${command})` };
  }
  return { found: false, looked: [...CHROMIUM_PATHS, ...CHROMIUM_COMMANDS.map((c) => `${c} on PATH`)] };
}

export interface ProvisionDeps extends FinderDeps {
  isRoot(): boolean;
  /** Runs a shell command with its output shown; returns its exit status. */
  run(command: string): number;
  log(line: string): void;
  now(): number;
}

export type ProvisionResult = { ok: true; path: string; installed: boolean } | { ok: false; message: string };

/**
 * Finds Chromium, or installs Debian's package once when it runs as root with apt-get available,
 * saying what it runs and how long it took. Never throws: when it cannot provide a Chromium, the
 * result's message says exactly what to install, and the browser suites fail with it.
 */
export function provisionChromium(deps: ProvisionDeps): ProvisionResult {
  const first = findChromium(deps);
  if (first.found) return { ok: true, path: first.path, installed: false };
  const missing = (why: string) => ({
    ok: false as const,
    message: `The browser tests (test/e2e) need Chromium and none was found (looked at: ${first.looked.join(', ')}). ${why} ${INSTALL_HINT}`,
  });
  if (first.problem) return missing(first.problem);
  if (!deps.isRoot()) return missing('Not running as root, so it was not installed automatically.');
  const apt = deps.which('apt-get');
  if (!apt) return missing('apt-get is not available, so it was not installed automatically.');

  deps.log(`[chromium] none found; installing Debian's package as root: ${APT_INSTALL}`);
  const started = deps.now();
  const status = deps.run(APT_INSTALL);
  const seconds = ((deps.now() - started) / 1000).toFixed(1);
  if (status !== 0) return missing(`\`${APT_INSTALL}\` exited with status ${status} after ${seconds} s.`);
  const after = findChromium(deps);
  if (!after.found) return missing(`\`${APT_INSTALL}\` succeeded after ${seconds} s but no Chromium executable appeared.`);
  deps.log(`[chromium] installed ${after.path} in ${seconds} s`);
  return { ok: true, path: after.path, installed: true };
}

/** The real filesystem, PATH, shell and clock. */
export function systemDeps(): ProvisionDeps {
  const isExecutable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  return {
    env: process.env,
    isExecutable,
    which: (command) => {
      const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
      const path = r.status === 0 ? r.stdout.trim() : '';
      return path.startsWith('/') ? path : undefined;
    },
    isRoot: () => process.getuid?.() === 0,
    run: (command) => spawnSync('sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status ?? 1,
    log: (line) => void process.stdout.write(`${line}\n`),
    now: () => Date.now(),
  };
}

/** The parts of jest's global config this setup reads. */
interface GlobalConfig {
  rootDir: string;
  testPathPatterns?: { isSet(): boolean; toExecutor(o: { rootDir: string }): { isMatch(path: string): boolean } };
}

/** Env variables handing the outcome to the test workers (read by test/support/browser.ts). */
export const CHROMIUM_FOUND_ENV = 'CC_CHROMIUM_EXECUTABLE';
export const CHROMIUM_MISSING_ENV = 'CC_CHROMIUM_MISSING';

/**
 * Jest globalSetup: runs once before any worker starts. When the run includes browser suites
 * (test/e2e), makes sure a Chromium exists, installing Debian's package when none does and the
 * machine allows it. It never fails the run itself: a missing Chromium fails the browser suites,
 * with the message saying what to install, and leaves every other suite alone.
 */
export default function globalSetup(globalConfig: GlobalConfig): void {
  const e2eDir = join(globalConfig.rootDir, 'test', 'e2e');
  const e2eFiles = readdirSync(e2eDir).filter((f) => f.endsWith('.test.ts')).map((f) => join(e2eDir, f));
  const patterns = globalConfig.testPathPatterns;
  if (patterns?.isSet()) {
    const executor = patterns.toExecutor({ rootDir: globalConfig.rootDir });
    if (!e2eFiles.some((f) => executor.isMatch(f))) return;
  }
  const result = provisionChromium(systemDeps());
  if (result.ok) {
    process.env[CHROMIUM_FOUND_ENV] = result.path;
    delete process.env[CHROMIUM_MISSING_ENV];
  } else {
    process.env[CHROMIUM_MISSING_ENV] = result.message;
    process.stdout.write(`[chromium] ${result.message}\n`);
  }
}
