/**
 * The package as Node-RED and its users see it: every registered node has its built
 * runtime, its editor beside it, help and messages in both languages; the examples
 * cover every non-config node type and match the shipped flows.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  engines: { node: string };
  files: string[];
  keywords: string[];
  dependencies: Record<string, string>;
  'node-red': { version: string; nodes: Record<string, string> };
};
const LANGUAGES = ['en-US', 'zh-CN'];

type FlowNode = { id: string; type: string; [key: string]: unknown };

function registeredTypes(html: string): { type: string; config: boolean }[] {
  const found: { type: string; config: boolean }[] = [];
  const pattern = /RED\.nodes\.registerType\(\s*'([\w-]+)'\s*,\s*\{([\s\S]*?)\n\s{0,4}\}\);/g;
  for (let m = pattern.exec(html); m; m = pattern.exec(html)) {
    found.push({ type: m[1], config: /category:\s*'config'/.test(m[2]) });
  }
  return found;
}

function readJsonArray(file: string): FlowNode[] {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(Array.isArray(value), `${file} must be a top-level array`);
  return value as FlowNode[];
}

describe('package', () => {
  it('declares what the Node-RED catalogue checks', () => {
    assert.match(pkg.name, /^@[\w-]+\/node-red-/);
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg.engines.node, '>=20');
    assert.equal(pkg['node-red'].version, '>=4.0.0');
    assert.ok(Object.keys(pkg.dependencies).length <= 6, 'at most 6 runtime dependencies');
    assert.ok(pkg.files.includes('examples/'));
  });

  const entries = Object.entries(pkg['node-red'].nodes);
  for (const [type, file] of entries) {
    describe(type, () => {
      const js = join(root, file);
      const dir = dirname(js);
      it('has its built runtime and editor side by side', () => {
        assert.ok(existsSync(js), `${file} is built`);
        const html = readFileSync(js.replace(/\.js$/, '.html'), 'utf8');
        assert.deepEqual(
          registeredTypes(html).map((t) => t.type),
          [type],
        );
      });
      for (const lang of LANGUAGES) {
        it(`has ${lang} messages and help`, () => {
          const messages = JSON.parse(readFileSync(join(dir, 'locales', lang, `${type}.json`), 'utf8')) as Record<string, unknown>;
          assert.ok(messages[type], `catalogue is keyed by "${type}"`);
          const help = readFileSync(join(dir, 'locales', lang, `${type}.html`), 'utf8');
          assert.match(help, new RegExp(`data-help-name="${type}"`));
          assert.match(help, /<p>[^<]+/, 'help starts with a palette tooltip paragraph');
        });
      }
      it('uses only message keys that exist in both languages', () => {
        const runtime = readFileSync(js, 'utf8');
        const keys = [...runtime.matchAll(/RED\._\('([\w-]+\.[\w.]+)'/g), ...runtime.matchAll(/text: '([\w-]+\.(?:status)\.[\w.]+)'/g)].map((m) => m[1]);
        for (const lang of LANGUAGES) {
          const catalogue = JSON.parse(readFileSync(join(dir, 'locales', lang, `${type}.json`), 'utf8')) as Record<string, unknown>;
          for (const key of keys) {
            const value = key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalogue);
            assert.equal(typeof value, 'string', `${lang} has ${key}`);
          }
        }
      });
    });
  }

  it("no node's editor defaults use a property name the editor keeps for itself (it drops them, with a console warning)", () => {
    // The editor's own list, read from the editor Node-RED ships, so a new release's additions count too.
    const editor = readFileSync(require.resolve('@node-red/editor-client/public/red/red.js', { paths: [require.resolve('node-red')] }), 'utf8');
    const list = /const internalProperties = \[([^\]]*)\]/.exec(editor);
    assert.ok(list, "the editor's list of internal properties was found");
    const internal = new Set([...list[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]));
    assert.ok(internal.has('users') && internal.has('wires'));
    for (const file of Object.values(pkg['node-red'].nodes)) {
      const html = readFileSync(join(root, file.replace(/\.js$/, '.html')), 'utf8');
      const defaults = /defaults:\s*\{([\s\S]*?)\n\s{4}\},/.exec(html);
      assert.ok(defaults, `${file}: defaults found`);
      const names = [...defaults[1].matchAll(/^\s{6}(\w+):/gm)].map((m) => m[1]);
      assert.ok(names.length > 0, `${file}: default names read`);
      const clashes = names.filter((n) => internal.has(n));
      assert.deepEqual(clashes, [], `${file} uses internal property names`);
    }
  });

  it('examples are top-level arrays covering every non-config node type', () => {
    const nonConfig = new Set<string>();
    for (const [, file] of entries) {
      const html = readFileSync(join(root, file).replace(/\.js$/, '.html'), 'utf8');
      for (const t of registeredTypes(html)) if (!t.config) nonConfig.add(t.type);
    }
    const used = new Set<string>();
    for (const file of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.json'))) {
      const nodes = readJsonArray(join(root, 'examples', file));
      assert.ok(nodes.some((n) => n.type === 'comment'), `${file} explains itself in a comment node`);
      for (const n of nodes) used.add(n.type);
    }
    for (const type of nonConfig) assert.ok(used.has(type), `an example uses ${type}`);
  });

  it('every shipped flow is importable as an identical example', () => {
    const flows = readdirSync(join(root, 'flows')).filter((f) => f.endsWith('.json'));
    assert.ok(flows.length > 0);
    for (const file of flows) {
      assert.deepEqual(readJsonArray(join(root, 'examples', file)), readJsonArray(join(root, 'flows', file)), file);
    }
  });

  it('flows hold no credentials', () => {
    for (const file of readdirSync(join(root, 'flows')).filter((f) => f.endsWith('.json'))) {
      for (const node of readJsonArray(join(root, 'flows', file))) {
        assert.equal(node.credentials, undefined, `${file}: ${node.id} carries credentials`);
        for (const secret of ['appSecret', 'token', 'encodingAESKey', 'password']) {
          assert.equal(node[secret], undefined, `${file}: ${node.id} has a ${secret} property`);
        }
      }
    }
  });

  it('the published tarball holds the runtime, editors, examples and nothing else', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    for (const path of files) {
      assert.match(path, /^(dist\/(lib|nodes)\/|examples\/|README\.md$|LICENSE$|package\.json$)/, `${path} does not belong in the tarball`);
    }
    for (const [type, file] of entries) {
      for (const needed of [file, file.replace(/\.js$/, '.html'), `${dirname(file)}/locales/zh-CN/${type}.json`]) {
        assert.ok(files.includes(needed), `tarball has ${needed}`);
      }
    }
  });
});
