/**
 * npm start: the sandbox plus Node-RED with this package and every scenario flow.
 *
 * The sandbox runs in this process; Node-RED runs as a child with its user directory
 * in .demo/ (git-ignored). The shipped flows read their account settings from
 * environment variables, which point here at the sandbox; credentials are written to
 * the demo's credentials file as ${NAME} references, never as values in a flow.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, startSandbox } from '../sandbox/index';
import { demoEnvironment } from '../sandbox/demo-accounts';
import { connectToNodeRed } from '../sandbox/demo-wiring';
import { ChatPage } from '../sandbox/chat/server';
import { connectUrl, DEMO_CHAT_PORT, DEMO_HOST, DEMO_PORT, DEMO_SANDBOX_PORT } from '../sandbox/demo-addresses';
import { WeChatClientSimulator } from '../sandbox/wechat-client';
import { pushText } from '../sandbox/delivery-text';
import { welcomeText } from './demo-welcome';
import { FlowNode, mergeFlows, packageRoot as root, prepareDemoUserDir, spawnNodeRed } from './node-red-userdir';

const userDir = join(root, '.demo');
const host = process.env.HOST ?? DEMO_HOST;
const port = Number(process.env.PORT ?? DEMO_PORT);
const sandboxPort = Number(process.env.SANDBOX_PORT ?? DEMO_SANDBOX_PORT);
const chatPort = Number(process.env.SANDBOX_CHAT_PORT ?? DEMO_CHAT_PORT);

const FIRST_FLOW = 'qa-bot.json';
/** A callback URL of the shipped flows: once it passes WeChat's URL verification, the flows run. */
const FLOWS_RUNNING_PROBE = '/wechat/follow';

/** Every flow in flows/, merged into one flow file. */
function mergedFlows(): FlowNode[] {
  const files = readdirSync(join(root, 'flows')).filter((f) => f.endsWith('.json'));
  // The Q&A bot first: it is the one to try first; the rest by name.
  files.sort((a, b) => Number(b === FIRST_FLOW) - Number(a === FIRST_FLOW) || a.localeCompare(b));
  return mergeFlows(files.map((file) => JSON.parse(readFileSync(join(root, 'flows', file), 'utf8')) as FlowNode[]));
}

async function main(): Promise<void> {
  const sandbox = await startSandbox({ port: sandboxPort, host });
  const flows = mergedFlows();
  const settingsFile = prepareDemoUserDir(userDir, flows, host, port);
  const env = { ...process.env, ...demoEnvironment(sandbox.baseUrl) };
  const child = spawnNodeRed({ redJs: require.resolve('node-red/red.js'), userDir, settingsFile, env, stdio: 'inherit' });
  const editor = connectUrl(host, port);
  const chatPage = await startChatPage(sandbox, editor);
  connectToNodeRed(sandbox, editor);
  // The commands are printed once they work: when the flows answer.
  flowsRunning(editor + FLOWS_RUNNING_PROBE, child, 120_000).then(
    () => console.log(welcomeText(editor, sandbox.baseUrl, chatPage?.url)),
    (err: Error) => console.error(`Node-RED did not start its flows: ${err.message}`),
  );
  showDeliveredMessages(sandbox);

  const stop = async () => {
    child.kill('SIGINT');
    await chatPage?.close();
    await sandbox.close();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  child.on('exit', (code) => {
    void sandbox.close().then(() => process.exit(code ?? 0));
  });
}

/** The chat page on its port; without it (the port is taken) the demo still runs, from the terminal. */
async function startChatPage(sandbox: Sandbox, editor: string): Promise<ChatPage | null> {
  try {
    return await ChatPage.start({ sandbox, nodeRedUrl: editor, port: chatPort, host });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? `port ${chatPort} is in use; choose another: SANDBOX_CHAT_PORT=1892 npm start` : (err as Error).message;
    console.error(`The chat page did not start (${reason})`);
    return null;
  }
}

/** Resolves once `callbackUrl` passes URL verification as WeChat performs it; rejects when Node-RED exits or after `timeoutMs`. */
async function flowsRunning(callbackUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const wechat = WeChatClientSimulator.demo('official');
  const deadline = Date.now() + timeoutMs;
  while (!(await wechat.verifyUrl(callbackUrl, { timeoutMs: 1000 })).ok) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited (code ${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`${callbackUrl} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Prints every message the flows deliver to the WeChat, WeCom and Mobile Services stand-ins, as a phone would show it. */
function showDeliveredMessages(sandbox: Sandbox): void {
  const shown = { wechat: 0, wecom: 0, pushes: 0 };
  setInterval(() => {
    for (const platform of ['wechat', 'wecom'] as const) {
      const messages = sandbox[platform].messages;
      for (; shown[platform] < messages.length; shown[platform]++) {
        const { api, body } = messages[shown[platform]];
        console.log(`[sandbox] ${platform === 'wechat' ? 'WeChat' : 'WeCom'} ${api} → ${String(body.touser ?? '')}: ${JSON.stringify(body)}`);
      }
    }
    const pushes = sandbox.mobileServices.deliveries;
    for (; shown.pushes < pushes.length; shown.pushes++) {
      const { target, delivered, body } = pushes[shown.pushes];
      const { msgtype, text } = pushText(body);
      console.log(`[sandbox] Mobile Services ${target} push → ${delivered.join(', ')}: ${msgtype}: ${text}`);
    }
  }, 300).unref();
}

main().catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`The sandbox port ${sandboxPort} is in use (another npm start?). Stop that, or choose another: SANDBOX_PORT=1891 npm start`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
