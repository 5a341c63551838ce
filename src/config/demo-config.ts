import { loadConfig, type Config } from './config.js';

/** Where the demo keeps its data when neither `DATA_DIR` nor `DATABASE_URL` says otherwise. */
export const DEMO_DATA_DIR = './data/demo';

/** The demo's configuration and the variables another process needs to reach the same data. */
export interface DemoConfig {
  config: Config;
  /**
   * `DATA_DIR=… ALLOW_INSECURE_CANVAS_URLS=true` to put before `npm run cli -- …` so the CLI opens
   * the demo's data folder (its SQLite file and secret key) from any terminal, and may call the
   * plain-http sandbox as the demo does.
   */
  cliEnv: string;
}

/**
 * The demo's configuration: the same variables as the service and the CLI (pass the environment
 * with `.env` already merged), plus the demo's own defaults underneath them (port 3000, data in
 * {@link DEMO_DATA_DIR}, 15-minute health checks, warnings only) and the one setting the sandbox
 * needs whatever the environment says (plain-http, loopback Canvas URLs).
 * @throws ConfigError as `loadConfig` does.
 */
export function loadDemoConfig(env: Record<string, string | undefined>): DemoConfig {
  const set = (k: string) => env[k] !== undefined && env[k]!.trim() !== '';
  const ownDataDir = !set('DATA_DIR');
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    HEALTH_CHECK_INTERVAL_MINUTES: '15',
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== '')),
    ...(ownDataDir ? { DATA_DIR: DEMO_DATA_DIR } : {}),
    ALLOW_INSECURE_CANVAS_URLS: 'true',
  });
  // The data folder (the SQLite file and the generated secret key live there) is always named, so
  // the line also works in another terminal that did not get the demo's environment. A
  // DATABASE_URL is not repeated: it may hold a password, and the CLI reads it from the same
  // environment or `.env`.
  // The sandbox is plain http on loopback, which only the demo allows by itself: a CLI command
  // that calls Canvas (preflight, refresh, sync, grades) needs the same permission.
  const dataDir = ownDataDir ? DEMO_DATA_DIR : env.DATA_DIR!.trim();
  return { config, cliEnv: `DATA_DIR=${shellWord(dataDir)} ALLOW_INSECURE_CANVAS_URLS=true` };
}

/** `value` as one POSIX shell word: bare when it is safe, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The shell line that runs `npm run cli -- <args>` against the demo's data. */
export function demoCliCommand(demo: DemoConfig, args: string): string {
  return `${demo.cliEnv ? `${demo.cliEnv} ` : ''}npm run cli -- ${args}`;
}
