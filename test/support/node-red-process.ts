/**
 * A real Node-RED runtime in a child process, loading this package from the working
 * tree as a user's Node-RED would (red.js over a user directory). For what only a whole
 * runtime shows: the editor's own body parsers in front of our routes, and instances
 * that share a store and are killed.
 *
 * Flows report what reached them through function nodes that log `REPORT <json>`;
 * `reports` collects those lines from the process's output.
 */
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_EDITOR_THEME, FlowNode, prepareUserDir, spawnNodeRed, stopChild, waitForHttp } from '../../scripts/node-red-userdir';

export type Report = Record<string, unknown>;

export interface InstanceSpec {
  flows: FlowNode[];
  credentials?: Record<string, Record<string, string>>;
  /** Merged over the defaults; leave httpAdminRoot out for Node-RED's default (editor at /). */
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  /** A path that answers something other than 404 once the flows run. */
  readyPath: string;
  /** Reuse a user directory, e.g. to restart an instance over its own SQLite store. */
  userDir?: string;
}

/** A function node's body: logs the message for the test and passes it on. */
export function reportingFunction(fields: string): string {
  return `node.log('REPORT ' + JSON.stringify(${fields})); return msg;`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class NodeRedInstance {
  readonly reports: Report[] = [];
  readonly output: string[] = [];
  private ownsUserDir: boolean;

  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    readonly userDir: string,
    ownsUserDir: boolean,
  ) {
    this.ownsUserDir = ownsUserDir;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.output.push(line);
        const at = line.indexOf('REPORT ');
        if (at >= 0) this.reports.push(JSON.parse(line.slice(at + 7)) as Report);
      });
    }
  }

  static async start(spec: InstanceSpec): Promise<NodeRedInstance> {
    const port = await freePort();
    const ownsUserDir = !spec.userDir;
    const userDir = spec.userDir ?? mkdtempSync(join(tmpdir(), 'wxb-nr-'));
    const settingsFile = prepareUserDir({
      userDir,
      flows: spec.flows,
      credentials: spec.credentials ?? {},
      settings: {
        uiHost: '127.0.0.1',
        uiPort: port,
        flowFile: 'flows.json',
        credentialSecret: false,
        telemetry: { enabled: false },
        editorTheme: DEMO_EDITOR_THEME,
        logging: { console: { level: 'info', metrics: false, audit: false } },
        ...spec.settings,
      },
    });
    const child = spawnNodeRed({
      redJs: require.resolve('node-red/red.js'),
      userDir,
      settingsFile,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new NodeRedInstance(child, `http://127.0.0.1:${port}`, userDir, ownsUserDir);
    try {
      await waitForHttp(instance.baseUrl + spec.readyPath, 30_000, child);
    } catch (err) {
      await instance.stop();
      throw new Error(`${(err as Error).message}\n${instance.output.slice(-30).join('\n')}`, { cause: err });
    }
    return instance;
  }

  url(path: string): string {
    return this.baseUrl + path;
  }

  /** Resolves with the first report that `match` accepts, waiting up to `ms`. */
  async waitForReport(what: string, match: (report: Report) => boolean, ms = 15_000): Promise<Report> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.reports.find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no report of ${what} within ${ms} ms\n${this.output.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Ends the process at once, as a crash or an OOM kill would; the user directory stays. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Stops the process and removes a user directory it created. */
  async stop(): Promise<void> {
    await stopChild(this.child);
    if (this.ownsUserDir) rmSync(this.userDir, { recursive: true, force: true });
  }

  /** Leaves the user directory to the caller, e.g. for a restart over it. */
  keepUserDir(): string {
    this.ownsUserDir = false;
    return this.userDir;
  }
}
