import { describe, expect, it } from '@jest/globals';
import { APT_INSTALL, findChromium, provisionChromium, type ProvisionDeps } from '../support/chromium.js';

/** A machine with the given executables and commands on PATH; `install` adds files when apt runs. */
function machine(opts: { files?: string[]; path?: Record<string, string>; env?: Record<string, string>; root?: boolean; aptStatus?: number; install?: string[] }) {
  const files = new Set(opts.files ?? []);
  const onPath = { ...(opts.path ?? {}) };
  const ran: string[] = [];
  const logs: string[] = [];
  let t = 1_000;
  const deps: ProvisionDeps = {
    env: opts.env ?? {},
    isExecutable: (p) => files.has(p),
    which: (c) => onPath[c],
    isRoot: () => opts.root ?? false,
    run: (cmd) => {
      ran.push(cmd);
      t += 31_400;
      if ((opts.aptStatus ?? 0) === 0) for (const f of opts.install ?? []) files.add(f);
      return opts.aptStatus ?? 0;
    },
    log: (l) => void logs.push(l),
    now: () => t,
  };
  return { deps, ran, logs };
}

describe('findChromium', () => {
  it('prefers CHROMIUM_PATH, then PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH, over the Debian paths', () => {
    const files = ['/opt/chrome', '/opt/pw-chrome', '/usr/bin/chromium'];
    expect(findChromium(machine({ files, env: { CHROMIUM_PATH: '/opt/chrome', PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH: '/opt/pw-chrome' } }).deps)).toEqual({ found: true, path: '/opt/chrome', via: 'CHROMIUM_PATH' });
    expect(findChromium(machine({ files, env: { PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH: '/opt/pw-chrome' } }).deps)).toMatchObject({ path: '/opt/pw-chrome' });
  });

  it('reports a variable naming a missing file instead of looking elsewhere', () => {
    const r = findChromium(machine({ files: ['/usr/bin/chromium'], env: { CHROMIUM_PATH: '/nope/chrome' } }).deps);
    expect(r).toMatchObject({ found: false, problem: expect.stringContaining('CHROMIUM_PATH=/nope/chrome') });
  });

  it('tries /usr/bin/chromium, /usr/lib/chromium/chromium, /usr/bin/chromium-browser in that order, then PATH', () => {
    expect(findChromium(machine({ files: ['/usr/lib/chromium/chromium', '/usr/bin/chromium'] }).deps)).toMatchObject({ path: '/usr/bin/chromium' });
    expect(findChromium(machine({ files: ['/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'] }).deps)).toMatchObject({ path: '/usr/lib/chromium/chromium' });
    expect(findChromium(machine({ files: ['/usr/bin/chromium-browser'] }).deps)).toMatchObject({ path: '/usr/bin/chromium-browser' });
    expect(findChromium(machine({ files: ['/snap/bin/chromium'], path: { chromium: '/snap/bin/chromium' } }).deps)).toMatchObject({ path: '/snap/bin/chromium', via: 'PATH (chromium)' });
  });

  it('says where it looked when there is none', () => {
    const r = findChromium(machine({}).deps);
    expect(r.found).toBe(false);
    expect(!r.found && r.looked).toEqual(['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser', 'chromium on PATH', 'chromium-browser on PATH']);
  });
});

describe('provisionChromium', () => {
  it('installs nothing when a Chromium is there', () => {
    const m = machine({ files: ['/usr/bin/chromium'], root: true, path: { 'apt-get': '/usr/bin/apt-get' } });
    expect(provisionChromium(m.deps)).toEqual({ ok: true, path: '/usr/bin/chromium', installed: false });
    expect(m.ran).toEqual([]);
  });

  it('as root with apt-get: runs the apt install once, saying what it runs and how long it took', () => {
    const m = machine({ root: true, path: { 'apt-get': '/usr/bin/apt-get' }, install: ['/usr/bin/chromium'] });
    expect(provisionChromium(m.deps)).toEqual({ ok: true, path: '/usr/bin/chromium', installed: true });
    expect(m.ran).toEqual([APT_INSTALL]);
    expect(APT_INSTALL).toBe('apt-get update -qq && apt-get install -y -qq chromium');
    expect(m.logs[0]).toContain(APT_INSTALL);
    expect(m.logs[1]).toBe('[chromium] installed /usr/bin/chromium in 31.4 s');
  });

  it('without root: installs nothing and says what to install', () => {
    const m = machine({ root: false, path: { 'apt-get': '/usr/bin/apt-get' } });
    const r = provisionChromium(m.deps);
    expect(m.ran).toEqual([]);
    expect(r).toMatchObject({ ok: false, message: expect.stringContaining('apt-get install -y chromium') });
    expect(!r.ok && r.message).toContain('Not running as root');
  });

  it('without apt-get: installs nothing and says what to install', () => {
    const m = machine({ root: true });
    const r = provisionChromium(m.deps);
    expect(m.ran).toEqual([]);
    expect(!r.ok && r.message).toMatch(/apt-get is not available[\s\S]*CHROMIUM_PATH/);
  });

  it('when apt fails, reports its exit status and what to install', () => {
    const m = machine({ root: true, path: { 'apt-get': '/usr/bin/apt-get' }, aptStatus: 100 });
    const r = provisionChromium(m.deps);
    expect(m.ran).toEqual([APT_INSTALL]);
    expect(!r.ok && r.message).toContain('exited with status 100 after 31.4 s');
  });

  it('does not install over a CHROMIUM_PATH that names a missing file', () => {
    const m = machine({ root: true, path: { 'apt-get': '/usr/bin/apt-get' }, env: { CHROMIUM_PATH: '/nope' } });
    const r = provisionChromium(m.deps);
    expect(m.ran).toEqual([]);
    expect(!r.ok && r.message).toContain('CHROMIUM_PATH=/nope is not an executable file.');
  });
});
