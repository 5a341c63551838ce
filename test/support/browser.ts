import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FOUND_ENV, CHROMIUM_MISSING_ENV, INSTALL_HINT, findChromium, systemDeps } from './chromium.js';

/**
 * The Chromium found (or installed) by the jest globalSetup in test/support/chromium.ts; flags keep it off the (closed)
 * network. Throws, failing the suite, with what to install when there is none.
 */
export function launchChromium(opts: { args?: string[] } = {}): Promise<Browser> {
  const missing = process.env[CHROMIUM_MISSING_ENV];
  if (missing) throw new Error(missing);
  let executablePath = process.env[CHROMIUM_FOUND_ENV];
  if (!executablePath) {
    const found = findChromium(systemDeps());
    if (!found.found) throw new Error(`The browser tests need Chromium and none was found (looked at: ${found.looked.join(', ')}). ${found.problem ?? ''} ${INSTALL_HINT}`);
    executablePath = found.path;
  }
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.args ?? [])],
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

/**
 * Waits for `selector` inside the iframe `frameSelector` of `page`. On timeout the error names
 * every frame's address and the start of its text, so a failure in CI says where the browser got
 * stuck (a refusal page, a sign-in page, a blank frame) instead of only "timeout".
 * @throws Error with that description when the element does not appear in time
 */
export async function waitInFrame(page: Page, frameSelector: string, selector: string, timeout = 20_000): Promise<void> {
  try {
    await page.frameLocator(frameSelector).locator(selector).waitFor({ timeout });
  } catch (err) {
    const frames = await Promise.all(
      page.frames().map(async (f) => {
        const text = await f.evaluate(() => document.body?.innerText ?? '').catch((e: Error) => `(unreadable: ${e.message})`);
        return `  ${f.name() || '(main)'} ${f.url()}\n    ${text.replace(/\s+/g, ' ').slice(0, 400)}`;
      }),
    );
    throw new Error(`${selector} did not appear in ${frameSelector} within ${timeout} ms. Frames:\n${frames.join('\n')}\n${(err as Error).message}`);
  }
}
