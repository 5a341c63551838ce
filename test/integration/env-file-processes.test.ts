import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** The environment of this test run without the variables the .env file is about (they would win over it). */
function inheritedEnv(): Record<string, string> {
  const drop = ['DATA_DIR', 'DATABASE_URL', 'SECRET_KEY', 'PORT', 'PUBLIC_URL', 'NODE_OPTIONS', 'LOG_LEVEL'];
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !drop.includes(e[0])));
}

/** A fresh folder with a `.env`, as a person who copied .env.example would have. */
function folderWithEnvFile(text: string): string {
  const cwd = mkdtempSync(join(tmpdir(), 'cc-dotenv-'));
  dirs.push(cwd);
  writeFileSync(join(cwd, '.env'), text);
  return cwd;
}

/** Runs the CLI as `npm run cli` starts it (tsx, src/cli/main.ts) in `cwd`, with `env` on top of the test's. */
async function cli(cwd: string, args: string[], env: Record<string, string> = {}, stdin?: string): Promise<string> {
  const run = promisify(execFile)(process.execPath, ['--import', tsx, join(repo, 'src/cli/main.ts'), ...args], { cwd, env: { ...inheritedEnv(), LOG_LEVEL: 'warn', ...env }, timeout: 30_000 });
  if (stdin !== undefined) run.child.stdin!.end(stdin);
  return (await run).stdout;
}

describe('.env is read by the processes a person starts (child processes, not the helper)', () => {
  it('the CLI opens the DATA_DIR its .env names, and a DATA_DIR in the environment wins over the file', async () => {
    const cwd = folderWithEnvFile('# copied from .env.example\nDATA_DIR=./from-dotenv\n');
    expect(await cli(cwd, ['staff', 'create', '--email', 'dotenv@example.edu', '--name', 'Dot Env', '--password-stdin'], {}, 'violet harbour lantern seventeen\n')).toContain('Created staff user dotenv@example.edu');
    expect(existsSync(join(cwd, 'from-dotenv', 'canvas-companion.sqlite'))).toBe(true);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
    expect(await cli(cwd, ['staff', 'list'])).toContain('dotenv@example.edu');

    const other = await cli(cwd, ['staff', 'list'], { DATA_DIR: './from-environment' });
    expect(other).toContain('No staff users yet');
    expect(existsSync(join(cwd, 'from-environment', 'canvas-companion.sqlite'))).toBe(true);
  }, 90_000);

  it('the service (src/main.ts) listens on the PORT and keeps its data in the DATA_DIR its .env names', async () => {
    const port = await freePort();
    const cwd = folderWithEnvFile(`PORT=${port}\nDATA_DIR=./service-data\nPUBLIC_URL=http://localhost:${port}\n`);
    const child = spawn(process.execPath, ['--import', tsx, join(repo, 'src/main.ts')], { cwd, env: { ...inheritedEnv(), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${stderr}`))));
    const ready = (async () => {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (res?.ok) return res.status;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      expect(await Promise.race([ready, exited])).toBe(200);
      expect(existsSync(join(cwd, 'service-data', 'canvas-companion.sqlite'))).toBe(true);
    } finally {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  }, 90_000);
});
