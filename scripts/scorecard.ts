/**
 * npm run scorecard: `node-red-dev validate`, the checks the Node-RED flow library scores a
 * node package with, run on the packed package (what npm publishes, not the working tree).
 *
 * node-red-dev is a CLI with some 440 packages of its own, none of which the package needs,
 * so it is installed into .out/scorecard/tool at a pinned version (its output is read here).
 * It looks the Node-RED catalogue up (similar package names P08, unique node types N01) at a
 * host this machine cannot reach. Its HTTP client (axios 0.21) takes its proxy from
 * https_proxy and honours no_proxy, so a stub on loopback stands in as that proxy and
 * answers the catalogue from here, while no_proxy sends the npm registry look-ups (P06, P07,
 * D02, D03) to npm's configured registry directly. The stub refuses anything else, and a
 * request it refused fails the run: nothing is answered offline that is not meant to be.
 *
 * validate always exits 0 and writes its checks to the -o file; this reads that file and
 * fails when
 * - a check's test is false (but for the one README explains, see EXPLAINED), or a check
 *   is missing (node-red-dev stopped early);
 * - node-red-dev could not parse an editor file (it only prints "Unable to parse <file>"
 *   and leaves that file's node types out of every node check);
 * - the node types node-red-dev read from the editor files differ from package.json's
 *   node-red.nodes. Its scorecard names no types, so a second run answers the catalogue
 *   with one probe package claiming each type the package could register: node-red-dev's
 *   unique-name check (N01) then names the probes of exactly the types it read.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from './node-red-userdir';
import { packPackage, unpackPackage } from './packed-package';

const NODE_RED_DEV_VERSION = '0.1.6';
/** The checks node-red-dev 0.1.6 reports (P02 is disabled in it). */
const EXPECTED_CHECKS = ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08', 'N01', 'N02', 'D01', 'D02', 'D03'];
/**
 * Failing checks that README explains, with what each may name and a phrase of README's
 * explanation (the packed README must still carry it). D03 (latest dependency majors):
 * better-sqlite3's latest major, 13, needs Node.js 22, and the package supports Node.js 20.
 * Anything else such a check names fails the run.
 */
const EXPLAINED: Record<string, { packages: string[]; readme: string }> = {
  D03: { packages: ['better-sqlite3'], readme: 'D03 (latest dependency majors)' },
};
const CATALOGUE_HOST = 'catalogue.nodered.org';
const VALIDATE_TIMEOUT_MS = 180_000;

const workDir = join(packageRoot, '.out', 'scorecard');
const toolDir = join(workDir, 'tool');
const nodeRedDev = join(toolDir, 'node_modules', 'node-red-dev');

interface CatalogueModule {
  id: string;
  version: string;
  description: string;
  keywords: string[];
  types: string[];
  updated_at: string;
}

interface Check {
  test: boolean;
  [detail: string]: unknown;
}

type Scorecard = Record<string, Check | { name: string; version: string }>;

interface PackageManifest {
  name: string;
  'node-red': { nodes: Record<string, string> };
}

// ---- the catalogue, answered offline --------------------------------------------------

/** The stand-in for the catalogue, reached as node-red-dev's proxy. */
class CatalogueStub {
  /** What the catalogue look-up answers; replaced between runs. */
  modules: CatalogueModule[] = [];
  readonly answered: string[] = [];
  readonly refused: string[] = [];
  private readonly server = createServer((req, res) => this.handle(req, res));

  constructor() {
    // A client that tunnels (CONNECT) would reach a host this stub does not answer.
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => {
      this.refused.push(`CONNECT ${req.url ?? ''}`);
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // Through a proxy the request line carries the whole URL.
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'unknown'}`);
    if (req.method === 'GET' && url.host === CATALOGUE_HOST && url.pathname === '/catalogue.json') {
      this.answered.push(url.href);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'Node-RED Community catalogue (offline)', updated_at: new Date().toISOString(), modules: this.modules }));
      return;
    }
    this.refused.push(`${req.method ?? ''} ${url.href}`);
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('not answered offline');
  }
}

/** A probe package for each type: node-red-dev reports a probe when it read that type from an editor file. */
function probeModules(types: string[]): Map<string, CatalogueModule> {
  return new Map(
    types.map((type) => [
      `node-type-probe--${type}`,
      { id: `node-type-probe--${type}`, version: '0.0.0', description: `claims ${type}`, keywords: [], types: [type], updated_at: new Date().toISOString() },
    ]),
  );
}

// ---- node-red-dev ---------------------------------------------------------------------

function ensureNodeRedDev(): void {
  const manifest = join(nodeRedDev, 'package.json');
  if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version === NODE_RED_DEV_VERSION) {
    console.log(`Using node-red-dev ${NODE_RED_DEV_VERSION} in ${toolDir}`);
    return;
  }
  console.log(`Installing node-red-dev@${NODE_RED_DEV_VERSION} into ${toolDir} (once)…`);
  mkdirSync(toolDir, { recursive: true });
  writeFileSync(join(toolDir, 'package.json'), JSON.stringify({ name: 'scorecard-tool', private: true }, null, 2) + '\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `node-red-dev@${NODE_RED_DEV_VERSION}`], { cwd: toolDir, stdio: 'inherit' });
}

/** The host of npm's configured registry, which node-red-dev's registry look-ups reach directly. */
function registryHost(): string {
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  return new URL(registry).hostname;
}

interface ValidateRun {
  scorecard: Scorecard | null;
  output: string;
  exitCode: number;
}

/** Runs `node-red-dev validate -p <dir> -o <file>` with the stub as its proxy. */
async function validate(dir: string, outputFile: string, proxy: string, directHost: string): Promise<ValidateRun> {
  rmSync(outputFile, { force: true });
  const env = { ...process.env, https_proxy: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, HTTP_PROXY: proxy, no_proxy: directHost, NO_PROXY: directHost };
  const child = spawn(process.execPath, [join(nodeRedDev, 'bin', 'run'), 'validate', '-p', dir, '-o', outputFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), VALIDATE_TIMEOUT_MS);
  const exitCode = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  clearTimeout(killer);
  const scorecard = existsSync(outputFile) ? (JSON.parse(readFileSync(outputFile, 'utf8')) as Scorecard) : null;
  return { scorecard, output, exitCode };
}

/**
 * The first node_modules folder above `dir`, if any. The flow library validates a package
 * downloaded into a folder of its own; node-red-dev's D03 (npm-check) takes a dependency's
 * installed version from any node_modules above the package, so the project's own install
 * would stand in for "the version the package gets".
 */
function installedTreeAround(dir: string): string | null {
  for (let parent = dirname(dir); parent !== dirname(parent); parent = dirname(parent)) {
    if (existsSync(join(parent, 'node_modules'))) return join(parent, 'node_modules');
  }
  return existsSync('/node_modules') ? '/node_modules' : null;
}

// ---- reading the results --------------------------------------------------------------

function checksOf(scorecard: Scorecard): Record<string, Check> {
  return Object.fromEntries(Object.entries(scorecard).filter((entry): entry is [string, Check] => /^[A-Z]\d\d$/.test(entry[0]) && 'test' in entry[1]));
}

function details(check: Check): string {
  const rest = Object.fromEntries(Object.entries(check).filter(([key]) => key !== 'test'));
  return Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
}

/** Whether a failing check names only what EXPLAINED allows it, and the packed README still explains it. */
function explained(id: string, check: Check, readme: string): boolean {
  const allowance = EXPLAINED[id];
  if (!allowance || !readme.includes(allowance.readme)) return false;
  const named = Array.isArray(check.packages) ? (check.packages as string[]) : [];
  return named.length > 0 && named.every((name) => allowance.packages.includes(name));
}

/** The editor files node-red-dev could not parse, from its "Unable to parse <file>" lines. */
function unparsedEditorFiles(output: string): string[] {
  // It names the node's .js; the editor file is the .html beside it.
  return [...output.matchAll(/^Unable to parse\s+(.+)$/gm)].map((m) => m[1].trim().replace(/\.js$/, '.html'));
}

/** Every type the packed editor files could register, for the probe catalogue: package.json's and any registerType call's. */
function candidateTypes(dir: string, manifest: PackageManifest): string[] {
  const types = new Set(Object.keys(manifest['node-red'].nodes));
  for (const file of Object.values(manifest['node-red'].nodes)) {
    const html = join(dir, file.replace(/\.js$/, '.html'));
    if (!existsSync(html)) continue;
    for (const m of readFileSync(html, 'utf8').matchAll(/registerType\(\s*['"]([^'"]+)['"]/g)) types.add(m[1]);
  }
  return [...types].sort();
}

function sameSet(a: string[], b: string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === b.length && [...a].sort().every((value, i) => value === sortedB[i]);
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => `  | ${line}`)
    .join('\n');
}

/** Prints each check's verdict; returns what fails: failing or missing checks, unparsed editor files, a bad exit. */
function scorecardFailures(run: ValidateRun, readme: string): string[] {
  const failures: string[] = [];
  if (run.exitCode !== 0) failures.push(`node-red-dev exited with ${run.exitCode}`);
  if (!run.scorecard) return [...failures, 'node-red-dev wrote no scorecard'];
  const checks = checksOf(run.scorecard);
  for (const id of EXPECTED_CHECKS) {
    const check = checks[id];
    if (!check) {
      failures.push(`${id} is missing from the scorecard: node-red-dev stopped before it`);
      continue;
    }
    const verdict = check.test ? 'PASS' : explained(id, check, readme) ? 'KNOWN' : 'FAIL';
    console.log(`${verdict.padEnd(5)} ${id}${details(check)}${verdict === 'KNOWN' ? ` (explained in README: "${EXPLAINED[id].readme}")` : ''}`);
    if (verdict === 'FAIL') failures.push(`${id} failed${details(check)}`);
  }
  for (const file of unparsedEditorFiles(run.output)) failures.push(`node-red-dev could not parse the editor file ${file}`);
  return failures;
}

/** The second run, against the probe catalogue: whether the node types node-red-dev read are package.json's. */
async function nodeTypeFailures(dir: string, manifest: PackageManifest, stub: CatalogueStub, proxy: string, direct: string): Promise<string[]> {
  const declared = Object.keys(manifest['node-red'].nodes).sort();
  const probes = probeModules(candidateTypes(dir, manifest));
  stub.modules = [...probes.values()];
  const run = await validate(dir, join(workDir, 'node-types.json'), proxy, direct);
  const n01 = run.scorecard ? checksOf(run.scorecard).N01 : undefined;
  if (!n01) return ['the node-type run wrote no N01 check'];
  const claimed = Array.isArray(n01.nodes) ? (n01.nodes as string[]) : [];
  const read = claimed.map((id) => probes.get(id)?.types[0] ?? id).sort();
  if (!sameSet(read, declared)) return [`node-red-dev read the node types [${read.join(', ')}] from the editor files; package.json declares [${declared.join(', ')}]`];
  console.log(`PASS  node types read from the editor files = package.json's node-red.nodes (${read.length}: ${read.join(', ')})`);
  return [];
}

/** The stub must have answered the catalogue, and nothing else may have been asked of it. */
function offlineFailures(stub: CatalogueStub): string[] {
  console.log(`The offline catalogue answered ${stub.answered.length} look-up(s) of ${CATALOGUE_HOST}`);
  const unused = stub.answered.length === 0 ? ['node-red-dev never looked the catalogue up: the offline answer was not used'] : [];
  return [...unused, ...stub.refused.map((request) => `node-red-dev asked for ${request}, which is not answered offline`)];
}

async function main(): Promise<number> {
  ensureNodeRedDev();
  const tarball = packPackage(join(workDir, 'pack'));
  const unpackDir = mkdtempSync(join(tmpdir(), 'wxbridge-scorecard-'));
  const stub = new CatalogueStub();
  const failures: string[] = [];
  try {
    const dir = unpackPackage(tarball, unpackDir);
    const around = installedTreeAround(dir);
    if (around) throw new Error(`${dir} lies under ${around}: D03 would read the versions installed there`);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageManifest;
    const proxy = await stub.listen();
    const direct = registryHost();
    console.log(`node-red-dev ${NODE_RED_DEV_VERSION} validate on ${tarball}; the catalogue answered offline, the registry at ${direct}`);
    const scored = await validate(dir, join(workDir, 'scorecard.json'), proxy, direct);
    console.log(indent(scored.output));
    failures.push(...scorecardFailures(scored, readFileSync(join(dir, 'README.md'), 'utf8')));
    failures.push(...(await nodeTypeFailures(dir, manifest, stub, proxy, direct)));
  } finally {
    await stub.close();
    rmSync(unpackDir, { recursive: true, force: true });
  }
  failures.push(...offlineFailures(stub));
  if (failures.length) {
    console.log(`\nScorecard FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  console.log(`\nScorecard passed: no failing check (${join(workDir, 'scorecard.json')}).`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
