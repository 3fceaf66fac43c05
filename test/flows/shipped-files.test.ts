/**
 * The shipped flows and examples as files: config nodes with the same settings are one
 * node with one id across all files (so importing several, or the demo merging them,
 * leaves one of each), and every flow reads left to right within 1600 px. Node widths
 * are estimated here from their labels, generously; the browser test measures them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowNode } from '../support/node-red-harness';

const root = join(__dirname, '..', '..', '..');
const CONFIG_TYPES = new Set(['wechat-account', 'c4c-system', 'mobile-services-app', 'wechat-sap-store', 'wf-dcn-hub']);
const FLOW_WIDTH = 1600;

function flowFiles(): { file: string; nodes: FlowNode[] }[] {
  return ['flows', 'examples'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ file: `${dir}/${f}`, nodes: JSON.parse(readFileSync(join(root, dir, f), 'utf8')) as FlowNode[] })),
  );
}

/** A config node's settings, without its id, in a fixed key order. */
function settingsOf(node: FlowNode): string {
  const { id: _id, ...settings } = node;
  return JSON.stringify(Object.fromEntries(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))));
}

/** The editor's node width: the label at about 7 px a character, plus icon and port room, in steps of 20, at least 100. */
function estimatedWidth(node: FlowNode): number {
  if (node.type === 'link in' || node.type === 'link out') return 30;
  const label = typeof node.name === 'string' && node.name ? node.name : node.type;
  return Math.max(100, 20 * Math.ceil((label.length * 7 + 57) / 20));
}

/** A route's path as Node-RED mounts it (a leading slash added), or '' when the field is empty. */
function routePath(value: unknown): string {
  if (typeof value !== 'string' || !value) return '';
  return value.startsWith('/') ? value : `/${value}`;
}

/** The HTTP routes a node serves, as "METHOD path" ("*" for every method): what two nodes may not share. */
function routesOf(node: FlowNode): string[] {
  const served: Record<string, Array<[string, string]>> = {
    'wechat-in': [['*', routePath(node.url)]],
    'c4c-notification-in': [['*', routePath(node.url)]],
    'wf-dcn-in': [
      ['*', routePath(node.url)],
      ['*', routePath(node.paramUrl)],
    ],
    // The hub's admin routes, all under one root.
    'wf-dcn-hub': [['*', `${routePath(node.adminUrl) || '/dcn/admin'}/…`]],
    'http in': [[String(node.method).toUpperCase(), routePath(node.url)]],
  };
  return (served[node.type] ?? []).filter(([, path]) => path).map(([method, path]) => `${method} ${path}`);
}

describe('the shipped flow files', () => {
  const files = flowFiles();

  it('serve each route from one node, so every example deploys beside the demo and beside the others', () => {
    // A node with the same id in several files is one node (the demo merges them, an import replaces it).
    const owners = new Map<string, Map<string, string>>();
    for (const { file, nodes } of files) {
      for (const node of nodes) {
        for (const route of routesOf(node)) owners.set(route, (owners.get(route) ?? new Map<string, string>()).set(node.id, file));
      }
    }
    const shared = [...owners].filter(([, ids]) => ids.size > 1).map(([route, ids]) => `${route}: ${[...ids].map(([id, file]) => `${id} in ${file}`).join(', ')}`);
    assert.deepEqual(shared, []);
    assert.ok(owners.has('* /dcn/HttpAuthDCNServlet') && owners.has('POST /timeoff/leaverequest'), 'the routes were read');
  });

  it('give config nodes with the same settings one id, and one id the same settings, in every file', () => {
    const idsBySettings = new Map<string, Set<string>>();
    const settingsById = new Map<string, Set<string>>();
    for (const { nodes } of files) {
      for (const node of nodes.filter((n) => CONFIG_TYPES.has(n.type))) {
        const settings = settingsOf(node);
        idsBySettings.set(settings, (idsBySettings.get(settings) ?? new Set()).add(node.id));
        settingsById.set(node.id, (settingsById.get(node.id) ?? new Set()).add(settings));
      }
    }
    for (const [settings, ids] of idsBySettings) assert.equal(ids.size, 1, `one id for ${settings}: ${[...ids].join(', ')}`);
    for (const [id, settings] of settingsById) assert.equal(settings.size, 1, `${id} has the same settings in every file`);
  });

  it('name the accounts and systems the demo and the examples share by what they are', () => {
    const shared = new Set(files.flatMap(({ nodes }) => nodes.filter((n) => CONFIG_TYPES.has(n.type)).map((n) => n.id)));
    for (const id of ['wxbridge.account.official', 'wxbridge.account.wecom', 'wxbridge.c4c.standard', 'wxbridge.c4c.custom', 'wxbridge.ms.app']) {
      assert.ok(shared.has(id), `${id} is used`);
    }
  });

  for (const { file, nodes } of files) {
    it(`${file} fits in ${FLOW_WIDTH} px and its wires go left to right`, () => {
      const byId = new Map(nodes.map((n) => [n.id, n]));
      const placed = nodes.filter((n) => typeof n.x === 'number' && n.type !== 'group' && n.type !== 'tab');
      for (const node of placed) {
        const right = (node.x as number) + estimatedWidth(node) / 2;
        assert.ok(right <= FLOW_WIDTH, `${node.id} ends at about ${right} px`);
      }
      for (const group of nodes.filter((n) => n.type === 'group')) {
        assert.ok((group.x as number) + (group.w as number) <= FLOW_WIDTH, `group ${group.id} ends within ${FLOW_WIDTH} px`);
      }
      for (const source of placed) {
        for (const target of ((source.wires as string[][] | undefined) ?? []).flat().map((id) => byId.get(id)!)) {
          const from = (source.x as number) + estimatedWidth(source) / 2;
          const to = (target.x as number) - estimatedWidth(target) / 2;
          assert.ok(to > from, `${source.id} → ${target.id} goes right (${from} → ${to})`);
        }
      }
    });
  }
});
