/// <reference types="node" />
// Debian's headless Chromium (/usr/bin/chromium, apt package `chromium`,
// installed by build/setup.sh) driven over the DevTools protocol with
// puppeteer-core: the one place that knows how to start it, shared by the
// LuCI app's browser test and the analyzer's HTML report test.
// puppeteer-core rather than playwright-core: it drives the system Chromium
// with no browser download and no version pinning, where playwright-core is
// built against its own patched browser builds.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.PDMV2_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium with a throwaway profile, removed when the browser closes. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: build/setup.sh installs Debian's chromium package`);
  const profile = mkdtempSync(join(tmpdir(), 'pdmv2-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // root in a container has no user namespace for Chromium's sandbox; the pages are the project's own
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  // the profile goes once the browser process has exited (it writes there until then)
  const removeProfile = (): void => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* a leftover temporary profile is not worth failing a test for */
    }
  };
  const proc = browser.process();
  if (proc) proc.once('exit', removeProfile);
  else browser.once('disconnected', removeProfile);
  return browser;
}

export interface OfflinePageSession {
  browser: Browser;
  page: Page;
  /** Requests the page tried to make to anything but its own file (should stay empty for offline pages). */
  outsideRequests: string[];
  close(): Promise<void>;
}

/**
 * One page of the given size for a self-contained file: requests other than
 * file:, data: and about:blank are refused and recorded.
 */
export async function openOfflinePage(opts: { width?: number; height?: number } = {}): Promise<OfflinePageSession> {
  const browser = await launchBrowser();
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
  return { browser, page, outsideRequests, close: () => browser.close() };
}
