/**
 * The editor as a user first sees it, in a real browser: every node type of the package
 * is in the palette, in English and in Chinese, and loading the editor raises no script
 * error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage, saveScreenshot } from '../support/browser';
import { NodeRedInstance } from '../support/node-red-process';

const packageJson = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const NODE_TYPES = Object.keys(packageJson['node-red'].nodes);

describe('the editor in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let nodeRed: NodeRedInstance;

  before(async () => {
    browser = await launchChromium();
    nodeRed = await NodeRedInstance.start({ flows: [], readyPath: '/' });
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
  });

  for (const locale of ['en-US', 'zh-CN']) {
    it(`lists every node type of the package in the palette (${locale}), with no script error`, async () => {
      const watched = await openWatchedPage(browser, { locale });
      try {
        await watched.page.goto(nodeRed.url('/'));
        await watched.page.waitForSelector('#red-ui-palette .red-ui-palette-node', { timeout: 60_000 });
        const inPalette = await watched.page.$$eval('#red-ui-palette .red-ui-palette-node[data-palette-type]', (nodes) =>
          nodes.map((node) => node.getAttribute('data-palette-type') ?? ''),
        );
        const registered = await watched.page.evaluate((types: string[]) => {
          const red = (window as unknown as { RED: { nodes: { getType(type: string): { category?: string } | null } } }).RED;
          return types.map((type) => ({ type, category: red.nodes.getType(type)?.category ?? null }));
        }, NODE_TYPES);
        for (const { type, category } of registered) {
          assert.ok(category, `${type} is registered in the editor`);
          if (category !== 'config') assert.ok(inPalette.includes(type), `${type} is in the palette`);
        }
        await saveScreenshot(watched.page, `editor-palette-${locale}`);
        assert.deepEqual(watched.pageErrors, []);
      } finally {
        await watched.context.close();
      }
    });
  }
});
