// Debian's headless Chromium (/usr/bin/chromium, apt package `chromium`,
// installed by build/setup.sh) driven over the DevTools protocol with
// puppeteer-core, for tests of pages the project generates. One place that
// knows how to start it, shared by every browser test.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.PDMV2_CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Requests the page tried to make to anything but its own file (should stay empty for offline pages). */
  outsideRequests: string[];
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a throwaway profile and one page of the given
 * size. Network requests other than file: and data: URLs are refused and recorded.
 */
export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: build/setup.sh installs Debian's chromium package`);
  const profile = mkdtempSync(join(tmpdir(), 'pdmv2-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Root in a container has no user namespace sandbox; the pages are the project's own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: opts.width ?? 1400, height: opts.height ?? 900 });
  const outsideRequests: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('file:') || url.startsWith('data:') || url === 'about:blank') {
      void req.continue();
    } else {
      outsideRequests.push(url);
      void req.abort();
    }
  });
  return {
    browser,
    page,
    outsideRequests,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
