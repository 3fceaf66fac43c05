/**
 * The first half of npm run test:nr5: the whole mocha suite again, on Node.js 22 against
 * Node-RED 5.
 *
 * The project's node_modules (Node.js 20, Node-RED 4) stay as they are for everything else,
 * so the suite runs from a copy of the project in .out/nr5/suite with dependencies of its
 * own, installed by npm on Node.js 22: the lockfile's versions but node-red 5 instead of 4
 * (the tests and node-red-node-test-helper resolve `node-red` from node_modules, so they
 * load Node-RED 5). npm builds the native SQLite driver (better-sqlite3) there for
 * Node.js 22, against its headers.
 * The copy holds the built dist/ and the files tests read (flows, examples, package.json…);
 * the install is redone only when package.json, the lockfile or the Node.js version change.
 * Before the suite, the copy's runtime is checked: Node.js 22, Node-RED 5 and a driver that
 * opens a database there. Exits with mocha's exit code.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './node-red-userdir';
import { NODE_MAJOR, NODE_RED_MAJOR, ensureToolchain, node22, node22Env, npmOnNode22, scratch } from './node-red-5-toolchain';

const suiteDir = join(scratch, 'suite');
const installStamp = join(suiteDir, '.install-inputs');

type Manifest = { devDependencies: Record<string, string>; [field: string]: unknown };
type Lockfile = { packages: Record<string, { devDependencies?: Record<string, string> }>; [field: string]: unknown };

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** package.json and package-lock.json of the copy, as described above. */
function suiteManifests(): { manifest: Manifest; lockfile: Lockfile } {
  const manifest = readJson<Manifest>(join(packageRoot, 'package.json'));
  const lockfile = readJson<Lockfile>(join(packageRoot, 'package-lock.json'));
  const nodeRed = `^${NODE_RED_MAJOR}`;
  manifest.devDependencies['node-red'] = nodeRed;
  const root = lockfile.packages[''];
  if (root.devDependencies) root.devDependencies['node-red'] = nodeRed;
  return { manifest, lockfile };
}

/** Installs the copy's dependencies with npm on Node.js 22, unless the last install had the same inputs. */
function ensureSuiteDependencies(): void {
  const { manifest, lockfile } = suiteManifests();
  const nodeVersion = execFileSync(node22, ['--version'], { encoding: 'utf8' }).trim();
  const inputs = createHash('sha256').update(JSON.stringify([manifest, lockfile, nodeVersion])).digest('hex');
  if (existsSync(installStamp) && readFileSync(installStamp, 'utf8') === inputs && existsSync(join(suiteDir, 'node_modules'))) {
    console.log(`Using the Node.js ${NODE_MAJOR} dependencies in ${suiteDir}`);
    return;
  }
  console.log(`Installing the project's dependencies for Node.js ${NODE_MAJOR} and Node-RED ${NODE_RED_MAJOR} into ${suiteDir}…`);
  mkdirSync(suiteDir, { recursive: true });
  writeFileSync(join(suiteDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(join(suiteDir, 'package-lock.json'), JSON.stringify(lockfile, null, 2) + '\n');
  npmOnNode22(['install'], suiteDir);
  writeFileSync(installStamp, inputs);
}

/** The top-level files and folders the repository holds, and dist/: what the tests may read. */
function projectEntries(): string[] {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: packageRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
  const top = new Set(tracked.map((path) => path.split('/')[0]));
  top.add('dist');
  for (const own of ['package.json', 'package-lock.json']) top.delete(own);
  return [...top].sort();
}

/** Replaces the copy's project files with the working tree's (its package.json and lockfile stay the copy's). */
function copyProject(): void {
  for (const entry of projectEntries()) {
    const target = join(suiteDir, entry);
    rmSync(target, { recursive: true, force: true });
    if (existsSync(join(packageRoot, entry))) cpSync(join(packageRoot, entry), target, { recursive: true });
  }
}

interface SuiteRuntime {
  node: string;
  nodeRed: string;
  driver: string;
  sqlite: string;
}

/** What the copy's tests will run on, read by Node.js 22 from the copy itself. */
function suiteRuntime(): SuiteRuntime {
  const probe = [
    "const Database = require('better-sqlite3');",
    "const db = new Database(':memory:');",
    "const { v } = db.prepare('select sqlite_version() as v').get();",
    'db.close();',
    "console.log(JSON.stringify({ node: process.version, nodeRed: require('node-red/package.json').version, driver: require('better-sqlite3/package.json').version, sqlite: v }));",
  ].join(' ');
  return JSON.parse(execFileSync(node22, ['-e', probe], { cwd: suiteDir, env: node22Env(), encoding: 'utf8' })) as SuiteRuntime;
}

function major(version: string): number {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

function runMocha(): Promise<number> {
  const mocha = join(suiteDir, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const child = spawn(node22, [mocha], { cwd: suiteDir, env: node22Env(), stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function main(): Promise<number> {
  if (!existsSync(join(packageRoot, 'dist', 'test'))) throw new Error('dist/ is not built: run npm run build first');
  ensureToolchain();
  ensureSuiteDependencies();
  copyProject();
  const runtime = suiteRuntime();
  console.log(`The suite on Node.js ${runtime.node}, Node-RED ${runtime.nodeRed}, better-sqlite3 ${runtime.driver} (SQLite ${runtime.sqlite}, opened on Node.js ${runtime.node})`);
  if (major(runtime.node) !== NODE_MAJOR || major(runtime.nodeRed) !== NODE_RED_MAJOR) {
    console.log(`FAIL  expected Node.js ${NODE_MAJOR} and Node-RED ${NODE_RED_MAJOR}`);
    return 1;
  }
  const code = await runMocha();
  console.log(code === 0 ? `\nThe suite passed on Node.js ${runtime.node} with Node-RED ${runtime.nodeRed}.` : `\nThe suite FAILED on Node.js ${runtime.node} with Node-RED ${runtime.nodeRed}.`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
