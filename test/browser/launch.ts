/// <reference types="node" />
// Debian's Chromium, headless, driven by puppeteer-core (build/setup.sh browser
// installs it). puppeteer-core rather than playwright-core: it drives the
// system Chromium over CDP with no browser download and no version pinning,
// where playwright-core is built against its own patched browser builds.
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.PDMV2_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: the tests run as root in containers, where Chromium's sandbox cannot start
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
