/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core
 * (no browser download). Every page records its script errors and failed requests so a
 * test can assert there were none, and screenshots go to `.out/browser/`, kept by CI as
 * the tests' artifacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(__dirname, '..', '..', '..', '.out', 'browser');

/** Flags that keep Chromium off the network it cannot reach here, and quiet. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's packages (apt-get install chromium fonts-noto-cjk) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** A page with what went wrong on it: uncaught script errors, console errors and failed requests. */
export interface WatchedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly pageErrors: string[];
  readonly consoleErrors: string[];
  readonly failedRequests: string[];
}

export interface PageOptions {
  /** BCP 47 language the browser announces (Accept-Language, navigator.language), e.g. 'en-US' or 'zh-CN'. */
  readonly locale?: string;
  readonly width?: number;
  readonly height?: number;
}

export async function openWatchedPage(browser: Browser, options: PageOptions = {}): Promise<WatchedPage> {
  const locale = options.locale ?? 'en-US';
  const context = await browser.newContext({
    locale,
    extraHTTPHeaders: { 'Accept-Language': locale },
    viewport: { width: options.width ?? 1600, height: options.height ?? 1000 },
  });
  const page = await context.newPage();
  const watched: WatchedPage = { context, page, pageErrors: [], consoleErrors: [], failedRequests: [] };
  page.on('pageerror', (err) => watched.pageErrors.push(err.stack ?? err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('requestfailed', (request) => watched.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
  return watched;
}

/** Saves a full-page screenshot as `.out/browser/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
