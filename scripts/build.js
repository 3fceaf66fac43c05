#!/usr/bin/env node
// Build: compile TypeScript to CommonJS in dist/, then copy each node's editor files
// (.html, locales/, icons/) beside its compiled .js, where Node-RED looks for them, and
// bundle the sandbox chat page (Preact, by esbuild) into dist/sandbox/chat/page/.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
removeOrphans();
buildChatPage();

// Node-RED looks for icons beside each node's .js, so the package's icons go into every node folder.
const iconsDir = path.join(root, 'icons');
const nodesDir = path.join(root, 'nodes');
for (const name of fs.readdirSync(nodesDir)) {
  const from = path.join(nodesDir, name);
  const to = path.join(root, 'dist', 'nodes', name);
  if (!fs.statSync(from).isDirectory()) continue;
  fs.mkdirSync(to, { recursive: true });
  const isNode = fs.existsSync(path.join(from, `${name}.html`));
  if (isNode && fs.existsSync(iconsDir)) fs.cpSync(iconsDir, path.join(to, 'icons'), { recursive: true });
  for (const entry of fs.readdirSync(from)) {
    const src = path.join(from, entry);
    if (entry.endsWith('.html') || entry === 'locales' || entry === 'icons') {
      fs.cpSync(src, path.join(to, entry), { recursive: true });
    }
  }
  if (isNode) mergeSharedCatalogue(name, to);
}

// The texts of lib/'s error codes live once, in nodes/shared/locales/<lang>/lib.json; every
// node's catalogue gets them under "<type>.lib", so RED._ finds them in its own namespace.
function mergeSharedCatalogue(type, to) {
  const sharedDir = path.join(nodesDir, 'shared', 'locales');
  if (!fs.existsSync(sharedDir)) return;
  for (const lang of fs.readdirSync(sharedDir)) {
    const file = path.join(to, 'locales', lang, `${type}.json`);
    if (!fs.existsSync(file)) continue;
    const catalogue = JSON.parse(fs.readFileSync(file, 'utf8'));
    catalogue[type].lib = JSON.parse(fs.readFileSync(path.join(sharedDir, lang, 'lib.json'), 'utf8'));
    fs.writeFileSync(file, JSON.stringify(catalogue, null, 2) + '\n');
  }
}

// The chat page runs in the browser: type-checked against the DOM on its own, bundled
// into one script with Preact in it (nothing is loaded from elsewhere), served by the sandbox.
function buildChatPage() {
  const source = path.join(root, 'sandbox', 'chat', 'page');
  const out = path.join(root, 'dist', 'sandbox', 'chat', 'page');
  execFileSync(process.execPath, [tsc, '-p', path.join(source, 'tsconfig.json')], { stdio: 'inherit' });
  require('esbuild').buildSync({
    entryPoints: [path.join(source, 'app.tsx')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'iife',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'app.css']) fs.copyFileSync(path.join(source, file), path.join(out, file));
}

// The build is incremental, so a deleted or renamed .ts would leave its .js in dist/, where
// mocha would still run an old test and the package could still require an old module.
function removeOrphans() {
  const compiled = ['lib', 'nodes', 'sandbox', 'test', 'bench', 'scripts'];
  const bundled = path.join(root, 'dist', 'sandbox', 'chat', 'page');
  const visit = (dir) => {
    if (dir === bundled || !fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        visit(file);
        continue;
      }
      const match = /^(.*)\.js(\.map)?$/.exec(entry.name);
      if (!match) continue;
      const source = path.join(root, path.relative(path.join(root, 'dist'), dir), `${match[1]}.ts`);
      if (!fs.existsSync(source)) fs.rmSync(file);
    }
  };
  for (const top of compiled) visit(path.join(root, 'dist', top));
}
