import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.redirectUri).toBe('http://localhost:3000/oauth/callback');
    expect(c.database).toEqual({ kind: 'sqlite', file: './data/canvas-companion.sqlite' });
    expect(c.allowInsecureCanvasUrls).toBe(false);
    expect(c.secureCookies).toBe(false);
  });

  it('lists every problem at once, each naming its variable', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'abc', PUBLIC_URL: 'ftp://x', DATABASE_URL: 'postgres://db/x', ALLOW_INSECURE_CANVAS_URLS: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    for (const v of ['PORT', 'PUBLIC_URL', 'SECRET_KEY', 'ALLOW_INSECURE_CANVAS_URLS']) {
      expect(problems.some((p) => p.startsWith(v))).toBe(true);
    }
  });

  it('never coerces a boolean flag from arbitrary text', () => {
    expect(loadConfig({ ALLOW_INSECURE_CANVAS_URLS: 'false' }).allowInsecureCanvasUrls).toBe(false);
    expect(loadConfig({ ALLOW_INSECURE_CANVAS_URLS: 'true' }).allowInsecureCanvasUrls).toBe(true);
  });

  it('switches to Postgres and secure cookies from the URLs', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@h:5432/d', SECRET_KEY: 'k'.repeat(44), PUBLIC_URL: 'https://exams.example.edu/' });
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://u@h:5432/d' });
    expect(c.publicUrl).toBe('https://exams.example.edu');
    expect(c.secureCookies).toBe(true);
  });

  it('trusts no proxy by default; TRUST_PROXY takes a hop count or addresses, CIDR ranges and Express names', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,fd00::/8, 192.168.0.0/255.255.0.0,loopback' }).trustProxy).toEqual([
      '10.0.0.5', '10.1.0.0/16', 'fd00::/8', '192.168.0.0/255.255.0.0', 'loopback',
    ]);
  });

  it('refuses TRUST_PROXY=true, a bad address or range, and too many hops, naming the variable', () => {
    for (const value of ['true', '10.0.0.300', '10.0.0.0/33', 'proxy.example.com', '11', '10.0.0.1/8/8']) {
      let err: unknown;
      try {
        loadConfig({ TRUST_PROXY: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.every((p) => p.startsWith('TRUST_PROXY'))).toBe(true);
    }
  });

  it('is in step with .env.example', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual([...CONFIG_VARIABLES].sort());
  });
});
