/**
 * The editor in a real browser, in English and in Chinese: every node type of the
 * package is dragged from the palette, filled in through its dialog (config nodes
 * too), deployed and shown running; its help renders in the core nodes' structure;
 * no option or label in a dialog is cut off; every example imports and deploys; and
 * the editor asks nothing of Node-RED's online catalogue.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from 'playwright-core';
import { DEMO_EDITOR_THEME } from '../../scripts/node-red-userdir';
import { demoEnvironment } from '../../sandbox/demo-accounts';
import { Sandbox, startSandbox } from '../../sandbox/index';
import { launchChromium, openWatchedPage, saveScreenshot, WatchedPage } from '../support/browser';
import { addConfigNode, closeDialog, cutOffTexts, deploy, dragFromPalette, drawnNodes, editorNodes, fillDialog, FIRST_CONFIG, helpOf, importExample, NodeFill, openEditDialog, openEditor } from '../support/editor-page';
import { NodeRedInstance } from '../support/node-red-process';

const root = join(__dirname, '..', '..', '..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };
const NODE_TYPES = Object.keys(packageJson['node-red'].nodes);
const EXAMPLES = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

const CATEGORY = 'wechat_sap';
const PLATFORM_COLOURS: [prefix: string, colour: string][] = [
  ['wechat-sap-', '#c0c5cc'],
  ['wechat-', '#8fd16b'],
  ['c4c-', '#5fa8d3'],
  ['mobile-services-', '#aaa3e6'],
  ['wf-dcn-', '#e6b86a'],
];
const colourOf = (type: string) => PLATFORM_COLOURS.find(([prefix]) => type.startsWith(prefix))![1];

/** The help headings of Node-RED's core nodes (e.g. http in), in both languages. */
const HEADINGS: Record<string, { inputs: string; outputs: string; details: string }> = {
  'en-US': { inputs: 'Inputs', outputs: 'Outputs', details: 'Details' },
  'zh-CN': { inputs: '输入', outputs: '输出', details: '详细' },
};

/** The sandbox's accounts, entered as a user enters them: ${NAME} references to the demo's environment. */
const OFFICIAL_ACCOUNT = { kind: 'official', appId: '${WECHAT_OA_APPID}', apiBase: '${WECHAT_OA_API_BASE}', appSecret: '${WECHAT_OA_SECRET}', token: '${WECHAT_OA_TOKEN}', encodingAESKey: '${WECHAT_OA_AESKEY}' };
const C4C_SYSTEM = { baseUrl: '${C4C_BASE_URL}', user: '${C4C_USER}', password: '${C4C_PASSWORD}' };
const MS_APP = { serverUrl: '${MS_SERVER_URL}', appId: '${MS_APP_ID}', apiKey: '${MS_API_KEY}' };
const DCN_HUB = { '#wf-dcn-hub-senders-env': '${DCN_SENDERS}', adminUrl: '/browser/dcn/admin' };

/** Palette node types in the order they are placed, each with what its dialog needs. */
const FILLS: Record<string, NodeFill> = {
  'wechat-in': { values: { url: '/browser/wechat' }, configs: { account: { values: OFFICIAL_ACCOUNT } } },
  'wechat-reply': {},
  'wechat-send': { values: { account: FIRST_CONFIG } },
  'c4c-notification-in': { values: { url: '/browser/c4c', user: 'notify', password: 'notify-secret' } },
  'c4c-odata': { configs: { system: { values: C4C_SYSTEM } } },
  'mobile-services-push': { configs: { app: { values: MS_APP } } },
  'wechat-sap-records': { values: { collection: 'browser' }, configs: { store: { values: { kind: 'sqlite' } } } },
  'wf-dcn-in': { values: { url: '/browser/dcn' }, configs: { hub: { values: DCN_HUB } } },
  'wf-dcn-response': {},
  'wf-dcn-deliver': { values: { hub: FIRST_CONFIG } },
  'wf-dcn-ack': { values: { hub: FIRST_CONFIG } },
  'wf-dcn-registry': { values: { hub: FIRST_CONFIG } },
};

describe('the editor in Chromium', function () {
  this.timeout(300_000);
  let browser: Browser;
  let sandbox: Sandbox;
  let nodeRed: NodeRedInstance;

  before(async () => {
    browser = await launchChromium();
    sandbox = await startSandbox({ port: 0, host: '127.0.0.1' });
    nodeRed = await NodeRedInstance.start({ flows: [], readyPath: '/', env: demoEnvironment(sandbox.baseUrl), settings: { editorTheme: DEMO_EDITOR_THEME } });
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    await sandbox?.close();
  });

  it('has a dialog filling for every palette node type of the package', () => {
    const paletteTypes = NODE_TYPES.filter((type) => !['wechat-account', 'c4c-system', 'mobile-services-app', 'wechat-sap-store', 'wf-dcn-hub'].includes(type));
    assert.deepEqual(Object.keys(FILLS).sort(), paletteTypes.sort());
  });

  for (const locale of ['en-US', 'zh-CN']) {
    describe(locale, () => {
      let watched: WatchedPage;
      const requested: string[] = [];

      before(async () => {
        await clearFlows(nodeRed);
        watched = await openWatchedPage(browser, { locale });
        watched.page.on('request', (request) => requested.push(request.url()));
        await openEditor(watched.page, nodeRed.url('/'));
      });
      after(async () => {
        await watched?.context.close();
      });

      it('shows the package as one palette category, with a colour per platform and the README names', async () => {
        const { page } = watched;
        const header = await page.locator(`#red-ui-palette-header-${CATEGORY}`).textContent();
        assert.match(header ?? '', locale === 'zh-CN' ? /微信 · SAP/ : /WeChat · SAP/);
        const palette = await page.$$eval(`#red-ui-palette-container-${CATEGORY} .red-ui-palette-node[data-palette-type]`, (nodes) =>
          nodes.map((n) => ({ type: n.getAttribute('data-palette-type') ?? '', label: n.getAttribute('data-palette-label') ?? '', colour: (n as HTMLElement).style.backgroundColor })),
        );
        assert.deepEqual(palette.map((n) => n.type).sort(), Object.keys(FILLS).sort());
        for (const { type, label, colour } of palette) {
          assert.equal(label.replace(/\u2011 ?/g, '-'), type, `${type} is called as in the README`);
          assert.equal(colour, hexToRgb(colourOf(type)), `${type}'s colour`);
        }
      });

      it('drags, fills and deploys every node type; each runs and its help renders', async () => {
        const { page } = watched;
        const ids: Record<string, string> = {};
        const cutOff: string[] = [];
        const check = async () => {
          cutOff.push(...(await cutOffTexts(page)));
        };
        let index = 0;
        for (const [type, fill] of Object.entries(FILLS)) {
          // Two columns left of the dialog, far enough apart that no node overlaps another.
          ids[type] = await dragFromPalette(page, type, 190 + (index % 2) * 280, 60 + Math.floor(index / 2) * 70);
          index++;
          await openEditDialog(page, ids[type]);
          for (const [property, config] of Object.entries(fill.configs ?? {})) {
            await addConfigNode(page, 'node-input', property, config.values, config.nested, check);
          }
          if (fill.values) await fillDialog(page, 'node-input', fill.values);
          await check();
          if (type === 'wechat-in') await checkCallbackUrl(watched, nodeRed);
          await closeDialog(page);
          const placed = (await editorNodes(page)).find((n) => n.id === ids[type]);
          assert.notEqual(placed?.valid, false, `${type} is valid once its dialog is filled: ${placed?.validationErrors?.join(', ')}`);
        }
        assert.deepEqual([...new Set(cutOff)], [], 'nothing in a dialog is cut off or wraps');

        await deploy(page);
        const nodes = await waitForStatuses(watched, Object.values(ids));
        for (const node of nodes.filter((n) => Object.values(ids).includes(n.id) || n._def.category === 'config')) {
          assert.notEqual(node.valid, false, `${node.type} is valid after filling its dialog`);
          assert.notEqual(node.status?.fill, 'red', `${node.type}'s status: ${JSON.stringify(node.status)}`);
        }
        assert.ok(
          nodes.find((n) => n.id === ids['wechat-in'])?.status?.text?.includes('/browser/wechat'),
          "wechat-in's status shows its path",
        );
        // The README's picture: the running nodes, and wechat-in's dialog with the URL to paste into WeChat's console.
        await openEditDialog(page, ids['wechat-in']);
        await page.locator('#red-ui-palette-container-wechat_sap').scrollIntoViewIfNeeded();
        await saveDocScreenshot(watched, locale === 'zh-CN' ? 'editor-zh' : 'editor-en');
        await page.locator('#node-dialog-cancel').click();

        for (const type of NODE_TYPES) {
          const help = await helpOf(page, type);
          const words = HEADINGS[locale];
          const isConfig = !(type in FILLS);
          assert.ok(help.headings.includes(words.details), `${type} help has ${words.details}: ${help.headings.join(', ')}`);
          if (!isConfig) {
            assert.ok(help.headings.some((h) => h === words.inputs || h === words.outputs), `${type} help has Inputs or Outputs: ${help.headings.join(', ')}`);
            assert.ok(help.headings.indexOf(words.inputs) < help.headings.indexOf(words.details), `${type}: Inputs / Outputs before Details`);
          }
          if (locale === 'zh-CN') assert.match(help.text, /[\u4e00-\u9fff]{10}/, `${type} help is in Chinese`);
          assert.deepEqual(help.clipped, [], `${type} help: nothing reaches past the sidebar`);
        }
        assert.deepEqual(watched.pageErrors, []);
      });

      it('imports every example from Import › Examples and deploys it without errors', async () => {
        const { page } = watched;
        await clearFlows(nodeRed);
        await page.reload();
        await openEditor(page, nodeRed.url('/'));
        const logFrom = nodeRed.output.length;
        for (const example of EXAMPLES) {
          try {
            await importExample(page, packageJson.name, example);
            await deploy(page);
          } catch (err) {
            await saveScreenshot(page, `import-${example}-${locale}`);
            throw err;
          }
        }
        const nodes = await editorNodes(page);
        const invalid = nodes.filter((n) => n.valid === false).map((n) => `${n.type} ${n.id}`);
        assert.deepEqual(invalid, []);
        // Config nodes the examples share are one node each, however many examples use them.
        const accounts = nodes.filter((n) => n.type === 'wechat-account').map((n) => n.id).sort();
        assert.deepEqual(accounts, ['wxbridge.account.microapp', 'wxbridge.account.official', 'wxbridge.account.wecom']);
        assert.deepEqual(nodes.filter((n) => n.type === 'c4c-system').map((n) => n.id).sort(), ['wxbridge.c4c.custom', 'wxbridge.c4c.standard']);
        assertLaidOutLeftToRight(await drawnNodes(page), await wiresOf(watched));
        assert.deepEqual(watched.pageErrors, []);
        // Deployed side by side, no example's node is refused its route or fails to start. An
        // imported flow carries no credentials, so a callback waits for its account's Token.
        const waitingForToken = /wechat-in did not start: the account is not configured for callbacks \(the account has no Token\)/;
        assert.deepEqual(nodeRed.output.slice(logFrom).filter((line) => line.includes('[error]') && !waitingForToken.test(line)), []);
      });

      it("sends no request to Node-RED's online catalogue", () => {
        assert.deepEqual(requested.filter((url) => new URL(url).hostname.endsWith('nodered.org')), []);
      });
    });
  }
});

function hexToRgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

async function clearFlows(nodeRed: NodeRedInstance): Promise<void> {
  const res = await fetch(nodeRed.url('/flows'), { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: '[]' });
  assert.equal(res.status, 204, `clearing the flows: ${res.status}`);
}

/** wechat-in shows the whole URL to paste into the WeChat console, and copies it. */
async function checkCallbackUrl(watched: WatchedPage, nodeRed: NodeRedInstance): Promise<void> {
  const shown = await watched.page.locator('#wechat-in-full-url').textContent();
  assert.equal(shown, nodeRed.url('/browser/wechat'));
  await watched.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await watched.page.locator('#wechat-in-copy-url').click();
  assert.equal(await watched.page.evaluate(() => navigator.clipboard.readText()), shown);
}

/** The README's screenshot: the dialog open over a flow. Kept in docs/ (and with the test artifacts). */
async function saveDocScreenshot(watched: WatchedPage, name: string): Promise<void> {
  const path = await saveScreenshot(watched.page, name);
  copyFileSync(path, join(root, 'docs', `${name}.png`));
}

/** Waits until every given node has reported a status or a second has passed for those without one. */
async function waitForStatuses(watched: WatchedPage, ids: string[]): Promise<Awaited<ReturnType<typeof editorNodes>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const nodes = await editorNodes(watched.page);
    const withStatus = nodes.filter((n) => ids.includes(n.id) && n.status?.text);
    // Nodes that show a status do so within a moment of the deploy; wait for wechat-in's at least.
    if ((withStatus.length > 0 && Date.now() > deadline - 3000) || Date.now() > deadline) return nodes;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function wiresOf(watched: WatchedPage): Promise<[string, string][]> {
  return watched.page.evaluate(() => {
    const red = (window as unknown as { RED: { nodes: { eachLink(cb: (l: { source: { id: string }; target: { id: string } }) => void): void } } }).RED;
    const links: [string, string][] = [];
    red.nodes.eachLink((l) => {
      links.push([l.source.id, l.target.id]);
    });
    return links;
  });
}

/** Every flow fits in 1600 px and every wire goes from a node's right edge to a node further right, as the editor sizes them. */
function assertLaidOutLeftToRight(nodes: Awaited<ReturnType<typeof editorNodes>>, wires: [string, string][]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const node of nodes.filter((n) => n.w)) {
    assert.ok(node.x + node.w / 2 <= 1600, `${node.id} ends at ${node.x + node.w / 2} px`);
  }
  for (const [from, to] of wires) {
    const source = byId.get(from)!;
    const target = byId.get(to)!;
    assert.ok(target.x - target.w / 2 > source.x + source.w / 2, `the wire ${from} → ${to} goes right`);
  }
}
