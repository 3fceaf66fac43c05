/**
 * A Node-RED user directory that loads this package from the working tree: the demo
 * (npm start), the benchmarks and the Node-RED 5 smoke check all run Node-RED as a
 * child process over one of these, so they exercise the same built files that
 * `npm pack` would ship.
 */
import { spawn, ChildProcess, StdioOptions } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { demoCredentials } from '../sandbox/demo-credentials';

/** The package root (this file runs from dist/scripts/). */
export const packageRoot = resolve(__dirname, '..', '..');

/**
 * The editor as the demo and the tests show it: no tour, no projects, and no look-up in
 * Node-RED's online catalogue (its palette manager asks for it at every start otherwise;
 * the demo runs offline).
 */
export const DEMO_EDITOR_THEME = { tours: false, projects: { enabled: false }, palette: { catalogues: [] as string[] } };

export type FlowNode = { id: string; type: string; [property: string]: unknown };

/** Several flow files as one flow: a node two files share (a config node with one id) is kept once. */
export function mergeFlows(files: FlowNode[][]): FlowNode[] {
  const seen = new Set<string>();
  return files.flat().filter((node) => {
    if (seen.has(node.id)) return false;
    seen.add(node.id);
    return true;
  });
}

export interface UserDirSpec {
  userDir: string;
  flows: FlowNode[];
  /** flows_cred.json content: node id → credentials. Kept unencrypted (credentialSecret: false). */
  credentials: Record<string, Record<string, string>>;
  /** settings.js content; written as `module.exports = <settings>`. */
  settings: Record<string, unknown>;
  /**
   * How this package gets into the user directory: 'link' (the default) links the working
   * tree; 'installed' leaves node_modules to the caller, who installs the packed package.
   */
  packageSource?: 'link' | 'installed';
}

/**
 * Writes flows, credentials and settings into `userDir` and (unless the package is
 * installed there) links this package into its node_modules, where Node-RED scans for
 * node packages. Returns the settings file path.
 */
export function prepareUserDir(spec: UserDirSpec): string {
  const { userDir } = spec;
  mkdirSync(userDir, { recursive: true });
  if (spec.packageSource !== 'installed') {
    mkdirSync(join(userDir, 'node_modules', '@wxbridge'), { recursive: true });
    const link = join(userDir, 'node_modules', '@wxbridge', 'node-red-wechat-sap');
    rmSync(link, { force: true, recursive: true });
    symlinkSync(packageRoot, link, 'dir');
  }
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(spec.flows, null, 2));
  writeFileSync(join(userDir, 'flows_cred.json'), JSON.stringify(spec.credentials, null, 2));
  const settingsFile = join(userDir, 'settings.js');
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(spec.settings, null, 2)};\n`);
  return settingsFile;
}

/**
 * A userDir running shipped flows against the sandbox: their credentials are the demo's
 * ${NAME} references (see sandbox/demo-credentials.ts), kept unencrypted because they
 * hold no secret. Returns the settings file path.
 */
export function prepareDemoUserDir(userDir: string, flows: FlowNode[], host: string, port: number, overrides: Record<string, unknown> = {}): string {
  return prepareUserDir(demoUserDirSpec(userDir, flows, host, port, overrides));
}

/** What prepareDemoUserDir writes, for a caller that changes part of it (e.g. installs the packed package). */
export function demoUserDirSpec(userDir: string, flows: FlowNode[], host: string, port: number, overrides: Record<string, unknown> = {}): UserDirSpec {
  return {
    userDir,
    flows,
    credentials: demoCredentials(flows),
    settings: {
      uiHost: host,
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      editorTheme: DEMO_EDITOR_THEME,
      // No "enable update notifications" prompt: the demo runs offline.
      telemetry: { enabled: false },
      logging: { console: { level: 'info', metrics: false, audit: false } },
      ...overrides,
    },
  };
}

export interface NodeRedLaunch {
  /** The Node.js binary; the current one unless another runtime is under test. */
  nodeBinary?: string;
  /** Path of Node-RED's red.js. */
  redJs: string;
  userDir: string;
  settingsFile: string;
  env: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** Extra Node.js flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** Starts Node-RED as a child process over a prepared user directory. */
export function spawnNodeRed(launch: NodeRedLaunch): ChildProcess {
  const args = [...(launch.nodeArgs ?? []), launch.redJs, '--userDir', launch.userDir, '--settings', launch.settingsFile];
  return spawn(launch.nodeBinary ?? process.execPath, args, { env: launch.env, stdio: launch.stdio ?? 'inherit' });
}

/**
 * Resolves once `url` answers any HTTP status but 404 (routes are mounted when flows
 * start, a little after the port opens); rejects after `timeoutMs` or when `child` exits.
 * `method` is for routes that take no GET.
 */
export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess, method = 'GET'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child?.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`Node-RED exited before ${url} answered`);
    try {
      const res = await fetch(url, { method, signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status !== 404) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops a child process and waits for it to exit (SIGKILL after `graceMs`). */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolveStop();
    });
    child.kill('SIGINT');
  });
}
