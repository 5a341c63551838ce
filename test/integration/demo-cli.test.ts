import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { demoCliCommand, loadDemoConfig } from '../../src/config/demo-config.js';
import { createContainer } from '../../src/container.js';
import { DEMO_STAFF, seedDemo } from '../../src/demo-setup.js';
import { createLogger } from '../../src/logger/logger.js';
import { buildDemoWorld } from '../../src/simulator/demo-world.js';
import { createCanvasSandbox } from '../../src/simulator/sandbox.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** `A=1 B=2 npm run cli -- x y` → the variables and the CLI's arguments. */
function parseCommand(line: string): { env: Record<string, string>; args: string[] } {
  const m = /^((?:\w+=\S+ )*)npm run cli -- (.+)$/.exec(line);
  if (!m) throw new Error(`not a CLI line: ${line}`);
  const env = Object.fromEntries(m[1]!.trim().split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { env, args: m[2]!.split(' ') };
}

describe('the demo and the CLI share their data', () => {
  it("the CLI line the demo prints lists the demo's staff user with no second database, and may call the demo's plain-http Canvas", async () => {
    // The demo and `npm run cli` both run in the package folder; here a temp folder plays it.
    const cwd = mkdtempSync(join(tmpdir(), 'cc-demo-cli-'));
    dirs.push(cwd);
    const demo = loadDemoConfig({});
    const line = demoCliCommand(demo, 'staff list');
    expect(line).toBe('DATA_DIR=./data/demo ALLOW_INSECURE_CANVAS_URLS=true npm run cli -- staff list');

    // The demo's setup, with its relative paths taken from `cwd` as the demo process would.
    const { config } = demo;
    if (config.database.kind !== 'sqlite') throw new Error('the demo defaults to SQLite');
    const container = await createContainer(
      { ...config, dataDir: join(cwd, config.dataDir), database: { kind: 'sqlite', file: join(cwd, config.database.file) } },
      { logger: createLogger('silent') },
    );
    const sandbox = createCanvasSandbox({ world: buildDemoWorld({ courses: 12 }), latencyMs: 0 });
    await sandbox.start(0, '127.0.0.1');
    let integrationId: string;
    try {
      integrationId = (await seedDemo(container, sandbox.url)).id;
    } finally {
      await container.close();
    }

    // The CLI as `npm run cli` starts it, in the same folder, with only the printed variables.
    const { env, args } = parseCommand(line);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATA_DIR', 'DATABASE_URL', 'SECRET_KEY', 'NODE_OPTIONS'].includes(k)));
    const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, join(repo, 'src/cli/main.ts'), ...args], {
      cwd,
      env: { ...inherited, ...env, LOG_LEVEL: 'warn' },
      timeout: 30000,
    });
    expect(stdout).toContain(DEMO_STAFF.email);
    expect(stdout).not.toContain('No staff users yet');
    expect(existsSync(join(cwd, 'data/canvas-companion.sqlite'))).toBe(false);

    // A command that calls Canvas: the sandbox is http on loopback, which the line must allow.
    try {
      const preflight = parseCommand(demoCliCommand(demo, `integrations preflight ${integrationId}`));
      const checked = await promisify(execFile)(process.execPath, ['--import', tsx, join(repo, 'src/cli/main.ts'), ...preflight.args], {
        cwd,
        env: { ...inherited, ...preflight.env, LOG_LEVEL: 'warn' },
        timeout: 30000,
      });
      expect(checked.stdout).not.toMatch(/https/);
      expect(sandbox.control.counters().requests['POST /login/oauth2/token'] ?? 0).toBeGreaterThan(0);
    } finally {
      await sandbox.stop();
    }
  }, 60000);

  it('follows DATA_DIR and DATABASE_URL like the service, and names the data folder for another terminal', () => {
    const viaDir = loadDemoConfig({ DATA_DIR: '/srv/cc' });
    expect(viaDir.config.dataDir).toBe('/srv/cc');
    expect(demoCliCommand(viaDir, 'staff list')).toBe('DATA_DIR=/srv/cc ALLOW_INSECURE_CANVAS_URLS=true npm run cli -- staff list');
    expect(demoCliCommand(loadDemoConfig({ DATA_DIR: "/srv/it's here" }), 'staff list')).toBe(`DATA_DIR='/srv/it'\\''s here' ALLOW_INSECURE_CANVAS_URLS=true npm run cli -- staff list`);
    const viaUrl = loadDemoConfig({ DATABASE_URL: 'sqlite:/srv/cc.sqlite' });
    expect(viaUrl.config.database).toEqual({ kind: 'sqlite', file: '/srv/cc.sqlite' });
    // The generated secret key still lives in the demo's folder, so the CLI is told where.
    expect(viaUrl.cliEnv).toBe('DATA_DIR=./data/demo ALLOW_INSECURE_CANVAS_URLS=true');
    expect(viaUrl.config.allowInsecureCanvasUrls).toBe(true);
    expect(loadDemoConfig({ ALLOW_INSECURE_CANVAS_URLS: 'false' }).config.allowInsecureCanvasUrls).toBe(true);
  });
});
