import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/config.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger/logger.js';
import { testDatabases } from '../support/databases.js';
import { createTestContainer } from '../support/test-container.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'cc-container-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('createContainer', () => {
  it('on the embedded default, migrates, generates the secret key once, and reuses it after a restart', async () => {
    const dir = tmp();
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
    const first = await createContainer(config, { logger: createLogger('silent'), lti: false });
    const envelope = first.vault.encrypt('kept across restarts');
    await first.close();
    expect(existsSync(join(dir, 'secret.key'))).toBe(true);
    expect(existsSync(join(dir, 'canvas-companion.sqlite'))).toBe(true);
    const second = await createContainer(config, { logger: createLogger('silent'), lti: false });
    expect(second.vault.decrypt(envelope)).toBe('kept across restarts');
    await second.close();
  });

  it.each(testDatabases().map((t) => [t.name, t] as const))('applies BOOTSTRAP_API_TOKEN on %s', async (_name, tdb) => {
    const c = await createTestContainer({ tdb, env: { BOOTSTRAP_API_TOKEN: 'bootstrap-value-abcdefghijklmnop' } });
    try {
      expect(await c.apiTokens.authenticate('bootstrap-value-abcdefghijklmnop')).not.toBeNull();
      expect(c.log.text()).not.toContain('bootstrap-value-abcdefghijklmnop');
    } finally {
      await c.close();
    }
  });

  it('runs registered closers in reverse order before closing the store, once', async () => {
    const c = await createTestContainer();
    const order: string[] = [];
    c.onClose(() => void order.push('first registered'));
    c.onClose(async () => {
      await c.store.db.selectFrom('staff_users').select('id').execute(); // store still open
      order.push('second registered');
    });
    await Promise.all([c.close(), c.close()]);
    expect(order).toEqual(['second registered', 'first registered']);
  });
});

function runMain(env: Record<string, string>): { child: ReturnType<typeof spawn>; output: () => string; exit: Promise<number | null> } {
  // One process (node with the tsx loader), so the signal reaches main.ts itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

describe('main', () => {
  it('stops with exit 1 listing every configuration problem', async () => {
    const { exit, output } = runMain({ PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', DATA_DIR: tmp() });
    expect(await exit).toBe(1);
    expect(output()).toContain('PORT');
    expect(output()).toContain('DATABASE_URL');
    expect(output()).toContain('LOG_LEVEL');
  }, 30000);

  it('starts, answers /healthz, and exits 0 on SIGTERM', async () => {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const run = runMain({ PORT: port, DATA_DIR: tmp(), LOG_LEVEL: 'info' });
    try {
      for (let i = 0; i < 400 && !run.output().includes('listening') && run.child.exitCode === null; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(run.output()).toContain('listening');
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(run.output()).toContain('"msg":"stopped"');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  }, 60000);
});
