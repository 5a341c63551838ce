import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, as .ci/run installs it; flags keep it off the (closed) network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Where a browser test saves its screenshots: `docs/screenshots/<name>` (for the README and docs)
 * only with UPDATE_SCREENSHOTS=1, otherwise a temporary folder, so a normal test run leaves the
 * working tree clean. Call `cleanup()` in afterAll.
 */
export function screenshotFolder(name: string): { dir: string; cleanup(): void } {
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dir = join(import.meta.dirname, '..', '..', 'docs', 'screenshots', name);
    mkdirSync(dir, { recursive: true });
    return { dir, cleanup: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), `cc-shots-${name}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
