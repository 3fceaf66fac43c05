/**
 * Runs nodes under node-red-node-test-helper and serves RED.httpNode on a real
 * loopback port, so node tests speak real HTTP to the routes our nodes own.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Node, NodeAPI, NodeMessage } from 'node-red';

// The helper ships no types; this is the part of it we use.
interface TestHelper {
  /** The sinon sandbox of its spies on Node's prototype (send, receive, log, warn, error …). */
  _sandbox?: { resetHistory(): void };
  init(runtimePath: string, settings?: object): void;
  settings(settings: object): object;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: RegisterFn[], flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): Node | null;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper: TestHelper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

export type RegisterFn = (RED: NodeAPI) => void | Promise<void>;
export type FlowNode = { id: string; type: string; [key: string]: unknown };

/**
 * The core nodes the helper loads by itself (catch, status, complete). It registers one
 * once per node of its type in the flow, and Node-RED refuses a second registration, so a
 * flow with two Catch nodes (two shipped flows together) would not load: the harness
 * takes them over and loads each type a flow uses once.
 */
const helperInternals = helper as unknown as { _nodeModules?: Record<string, RegisterFn> };
const CORE_NODES_OF_HELPER: Record<string, RegisterFn> = helperInternals._nodeModules ?? {};
helperInternals._nodeModules = {};

function coreNodesFor(flow: FlowNode[], nodes: RegisterFn[]): RegisterFn[] {
  const types = new Set(flow.map((n) => n.type));
  return Object.entries(CORE_NODES_OF_HELPER)
    .filter(([type, register]) => types.has(type) && !nodes.includes(register))
    .map(([, register]) => register);
}

const NODES_DIR = join(__dirname, '..', '..', 'nodes');

/**
 * The test helper's RED._ returns the key itself; ours looks the key up in the nodes'
 * en-US catalogues and fills in __placeholders__, so tests read the real messages.
 */
function catalogueTranslator(): (key: string, substitutions?: Record<string, unknown>) => string {
  const catalogue: Record<string, unknown> = {};
  const lib = JSON.parse(readFileSync(join(NODES_DIR, 'shared', 'locales', 'en-US', 'lib.json'), 'utf8')) as Record<string, string>;
  for (const type of readdirSync(NODES_DIR)) {
    const file = join(NODES_DIR, type, 'locales', 'en-US', `${type}.json`);
    if (!existsSync(file)) continue;
    const own = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    // As the build does: the shared texts of lib/'s error codes under "<type>.lib".
    own[type].lib = lib;
    Object.assign(catalogue, own);
  }
  return (key, substitutions = {}) => {
    const found = key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalogue);
    if (typeof found !== 'string') return key;
    return found.replace(/__(\w+)__/g, (m, name: string) => (name in substitutions ? String(substitutions[name]) : m));
  };
}

export class NodeRedHarness {
  RED!: NodeAPI;
  baseUrl = '';
  private server: Server | null = null;
  private started = false;
  /** A private userDir, so the embedded store of a test run never lands in ~/.node-red. */
  readonly userDir = mkdtempSync(join(tmpdir(), 'wxbridge-test-'));

  /** Loads the flow; `settings` are merged into the runtime settings before loading. */
  async load(nodes: RegisterFn[], flow: FlowNode[], credentials: object = {}, settings?: object): Promise<void> {
    helper.settings({ userDir: this.userDir, ...settings });
    if (!this.started) {
      await helper.startServer();
      this.started = true;
    }
    const capture: RegisterFn[] = [...nodes, ...coreNodesFor(flow, nodes)].map((register, i) =>
      i === 0
        ? (RED: NodeAPI) => {
            this.RED = RED;
            (RED as unknown as { _: ReturnType<typeof catalogueTranslator> })._ = catalogueTranslator();
            return register(RED);
          }
        : register,
    );
    await helper.load(capture, flow, credentials);
    if (!this.server) {
      // Each load gets a new RED.httpNode app, so the server looks it up per request.
      const server = createServer((req, res) => (this.RED.httpNode as unknown as (q: unknown, s: unknown) => void)(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.server = server;
      this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  }

  /**
   * The helper's spies record every call of every node with its arguments, so a long run
   * (the fuzz suite's) would keep every message it ever sent: it forgets them now and then.
   */
  forgetCalls(): void {
    helper._sandbox?.resetHistory();
  }

  getNode<T extends Node = Node>(id: string): T {
    const node = helper.getNode(id);
    if (!node) throw new Error(`node ${id} is not loaded`);
    return node as T;
  }

  /**
   * Sends `msg` to node `target`; resolves with what node `out` received, or with what
   * done(err) reported (what a Catch node receives).
   */
  roundTrip<M extends NodeMessage>(msg: M, target: string, out = 'out'): Promise<{ out?: M; caught?: { error: Error; msg: M } }> {
    return new Promise((resolve) => {
      const node = this.getNode(target);
      const onError = (call: { args: [Error, M] }) => {
        this.getNode(out).removeListener('input', onOut);
        resolve({ caught: { error: call.args[0], msg: call.args[1] } });
      };
      const onOut = (m: M) => {
        node.removeListener('call:error', onError);
        resolve({ out: m });
      };
      this.getNode(out).once('input', onOut);
      node.once('call:error', onError);
      node.receive(msg);
    });
  }

  /** Stops the flows (routes are removed here) but keeps the HTTP server, to prove removal. */
  async unload(): Promise<void> {
    await helper.unload();
  }

  async stop(): Promise<void> {
    await helper.unload().catch(() => undefined);
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.started) await helper.stopServer();
    this.started = false;
    helper.settings({});
    rmSync(this.userDir, { recursive: true, force: true });
  }
}
