import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildProgram, runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { captureIO } from '../support/cli-io.js';
import { createTestContainer } from '../support/test-container.js';

const noContainer = async (): Promise<Container> => {
  throw new Error('--help must not open the database');
};

/** Every command path, discovered from the program itself, so a new command is covered too. */
function commandPaths(): string[][] {
  const paths: string[][] = [[]];
  const walk = (cmd: ReturnType<typeof buildProgram>, prefix: string[]) => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      paths.push([...prefix, sub.name()]);
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(buildProgram(noContainer, captureIO()), []);
  return paths;
}

describe('CLI', () => {
  it('lists the foundation commands', () => {
    const names = commandPaths().map((p) => p.join(' '));
    expect(names).toEqual(
      expect.arrayContaining(['staff create', 'staff list', 'tokens create', 'tokens list', 'tokens revoke', 'secrets generate-key', 'secrets rotate', 'db migrate']),
    );
  });

  it.each(commandPaths().map((p) => [p.join(' ') || '(root)', p]))('`%s --help` prints usage and exits 0 without a database', async (_n, path) => {
    const io = captureIO();
    const code = await runCli([...(path as string[]), '--help'], {}, io, noContainer);
    expect(code).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^Usage: canvas-companion/);
  });

  it('runs as a real process: `tsx src/cli/main.ts --help`', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli/main.ts', 'secrets', '--help'], { timeout: 20000 });
    expect(stdout).toContain('rotate');
  }, 30000);

  it('prints a clear message without a stack and exits 1 on bad configuration', async () => {
    const io = captureIO();
    const code = await runCli(['tokens', 'list'], { DATABASE_URL: 'mysql://nope', LOG_LEVEL: 'silent' }, io);
    expect(code).toBe(1);
    expect(io.stderr.join('\n')).toContain('DATABASE_URL');
    expect(io.stderr.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero on an unknown command', async () => {
    expect(await runCli(['nope'], {}, captureIO(), noContainer)).not.toBe(0);
  });

  it('secrets generate-key prints a usable 32-byte key', async () => {
    const io = captureIO();
    expect(await runCli(['secrets', 'generate-key'], {}, io, noContainer)).toBe(0);
    expect(Buffer.from(io.stdout[0] ?? '', 'base64')).toHaveLength(32);
  });

  describe('with a database', () => {
    let c: Awaited<ReturnType<typeof createTestContainer>>;
    // The CLI closes its container after each run; keep the test's one open.
    const shared = async () => Object.assign(Object.create(c) as Container, { close: async () => undefined });
    beforeAll(async () => {
      c = await createTestContainer();
    });
    afterAll(async () => {
      await c.close();
    });

    it('staff create --password-stdin creates a user who can sign in; staff list shows them', async () => {
      const io = captureIO('a passphrase from the command line\n');
      expect(await runCli(['staff', 'create', '--email', 'cli@example.edu', '--name', 'Cli User', '--password-stdin'], {}, io, shared)).toBe(0);
      expect(await c.staff.verifyPassword('cli@example.edu', 'a passphrase from the command line')).not.toBeNull();
      const list = captureIO();
      await runCli(['staff', 'list'], {}, list, shared);
      expect(list.stdout.join('\n')).toContain('cli@example.edu');
    });

    it('staff create refuses a short password with exit 1 and the reason', async () => {
      const io = captureIO('short\n');
      expect(await runCli(['staff', 'create', '--email', 'x@example.edu', '--name', 'X', '--password-stdin'], {}, io, shared)).toBe(1);
      expect(io.stderr.join('\n')).toContain('password');
    });

    it('tokens create prints a working token once; list hides it; revoke disables it', async () => {
      const io = captureIO();
      expect(await runCli(['tokens', 'create', '--name', 'from cli'], {}, io, shared)).toBe(0);
      const token = io.stdout[0] ?? '';
      expect(token).toMatch(/^cc_/);
      const info = await c.apiTokens.authenticate(token);
      expect(info?.name).toBe('from cli');
      const list = captureIO();
      await runCli(['tokens', 'list'], {}, list, shared);
      expect(list.stdout.join('\n')).toContain(info!.id);
      expect(list.stdout.join('\n')).not.toContain(token);
      expect(await runCli(['tokens', 'revoke', info!.id], {}, captureIO(), shared)).toBe(0);
      expect(await c.apiTokens.authenticate(token)).toBeNull();
      const missing = captureIO();
      expect(await runCli(['tokens', 'revoke', 'no-such-id'], {}, missing, shared)).toBe(1);
      expect(missing.stderr.join('\n')).toMatch(/^error: /);
    });

    it('secrets rotate and db migrate report success', async () => {
      const rotate = captureIO();
      expect(await runCli(['secrets', 'rotate'], {}, rotate, shared)).toBe(0);
      expect(rotate.stdout[0]).toMatch(/^Re-encrypted 0 values under key version 1/);
      const migrate = captureIO();
      expect(await runCli(['db', 'migrate'], {}, migrate, shared)).toBe(0);
      expect(migrate.stdout[0]).toContain('up to date');
    });
  });
});

describe('CLI and LTI', () => {
  it('a command that saves no LTI registration never loads ltijs (a real process: `staff list`)', async () => {
    const probe = `data:text/javascript,${encodeURIComponent(
      "import Module from 'node:module'; process.on('exit', () => process.stderr.write('ltijs modules loaded: ' + Object.keys(Module._cache).filter((k) => k.includes('/node_modules/ltijs/')).length + '\\n'));",
    )}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'cc-cli-lti-'));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', probe, 'src/cli/main.ts', 'staff', 'list'], {
        timeout: 30000,
        env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: '' },
      });
      expect(stdout).toContain('No staff users yet');
      expect(stderr).toContain('ltijs modules loaded: 0');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 40000);

  it("the CLI's container loads ltijs on demand, and registers the platform before a saved LTI registration returns", async () => {
    const c = await createTestContainer({ overrides: { lti: 'on-demand' } });
    try {
      expect(c.lti).toBeUndefined();
      const created = await c.integrations.create({
        name: 'Institution L', canvasUrl: 'https://l.instructure.com', clientId: '60000000000001', accountId: 'self', courseIdType: 'sis_course_id',
        userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'], lti: { environment: 'production', clientId: '60000000000099', deploymentIds: ['6:l'] },
      });
      const rows = await c.store.db.selectFrom('lti_platforms' as never).select(['platform_url', 'client_id'] as never).execute();
      expect(rows).toEqual([{ platform_url: 'https://canvas.instructure.com', client_id: '60000000000099' }]);
      expect(await c.store.db.selectFrom('lti_public_keys' as never).selectAll().execute()).toHaveLength(1);
      await c.integrations.delete(created.id);
      expect(await c.store.db.selectFrom('lti_platforms' as never).selectAll().execute()).toEqual([]);
    } finally {
      await c.close();
    }
  }, 60000);
});
