import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/config.js';
import { withEnvFile } from '../../src/config/env-file.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'cc-envfile-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('withEnvFile', () => {
  it('reads .env in the working folder, and an exported variable wins over it', () => {
    const cwd = tmp();
    writeFileSync(join(cwd, '.env'), '# copied from .env.example\nPORT=3456\nDATA_DIR="./from-dotenv"\nLOG_LEVEL=debug\n');
    const fromFile = loadConfig(withEnvFile({}, cwd));
    expect(fromFile.port).toBe(3456);
    expect(fromFile.dataDir).toBe('./from-dotenv');
    expect(fromFile.logLevel).toBe('debug');

    const exported = loadConfig(withEnvFile({ PORT: '3999', LOG_LEVEL: 'warn' }, cwd));
    expect(exported.port).toBe(3999);
    expect(exported.logLevel).toBe('warn');
    expect(exported.dataDir).toBe('./from-dotenv');
  });

  it('treats a variable exported as empty as set (it overrides the file)', () => {
    const cwd = tmp();
    writeFileSync(join(cwd, '.env'), 'DATA_DIR=./from-dotenv\n');
    expect(withEnvFile({ DATA_DIR: '' }, cwd).DATA_DIR).toBe('');
  });

  it('returns the environment unchanged without a .env file', () => {
    const env = { PORT: '3100' };
    expect(withEnvFile(env, tmp())).toBe(env);
  });

  it('names the file when .env exists but cannot be read', () => {
    const cwd = tmp();
    mkdirSync(join(cwd, '.env'));
    expect(() => withEnvFile({}, cwd)).toThrow(/\.env exists but cannot be read/);
  });
});
