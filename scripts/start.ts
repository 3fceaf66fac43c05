/**
 * npm start: the sandbox plus Node-RED with this package and every scenario flow.
 *
 * The sandbox runs in this process; Node-RED runs as a child with its user directory
 * in .demo/ (git-ignored). The shipped flows read their account settings from
 * environment variables, which point here at the sandbox; credentials are written to
 * the demo's credentials file as ${NAME} references, never as values in a flow.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, startSandbox } from '../sandbox/index';
import { DEMO_C4C, demoEnvironment } from '../sandbox/demo-accounts';
import { FlowNode, packageRoot as root, prepareDemoUserDir, spawnNodeRed } from './node-red-userdir';

const userDir = join(root, '.demo');
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 1880);
const sandboxPort = Number(process.env.SANDBOX_PORT ?? 1890);

const FIRST_FLOW = 'qa-bot.json';

/** Every flow in flows/, merged into one flow file; a config node shared by two files is kept once. */
function mergedFlows(): FlowNode[] {
  const seen = new Set<string>();
  const merged: FlowNode[] = [];
  const files = readdirSync(join(root, 'flows')).filter((f) => f.endsWith('.json'));
  // The Q&A bot first: it is the one to try first; the rest by name.
  files.sort((a, b) => Number(b === FIRST_FLOW) - Number(a === FIRST_FLOW) || a.localeCompare(b));
  for (const file of files) {
    for (const node of JSON.parse(readFileSync(join(root, 'flows', file), 'utf8')) as FlowNode[]) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      merged.push(node);
    }
  }
  return merged;
}

async function main(): Promise<void> {
  const sandbox = await startSandbox({ port: sandboxPort, host });
  const flows = mergedFlows();
  const settingsFile = prepareDemoUserDir(userDir, flows, host, port);
  const env = { ...process.env, ...demoEnvironment(sandbox.baseUrl) };
  const child = spawnNodeRed({ redJs: require.resolve('node-red/red.js'), userDir, settingsFile, env, stdio: 'inherit' });
  const editor = `http://${host}:${port}`;
  // C4C's event notifications go to the customer-changed flow's route, as a tenant's consumer would be set up.
  sandbox.c4c.setConsumer({ url: `${editor}/c4c/notify`, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
  setTimeout(() => printWelcome(editor, sandbox.baseUrl), 4000).unref();
  showDeliveredMessages(sandbox);

  const stop = async () => {
    child.kill('SIGINT');
    await sandbox.close();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  child.on('exit', (code) => {
    void sandbox.close().then(() => process.exit(code ?? 0));
  });
}

/** Prints every message the flows deliver to the WeChat and WeCom stand-ins, as a phone would show it. */
function showDeliveredMessages(sandbox: Sandbox): void {
  const shown = { wechat: 0, wecom: 0 };
  setInterval(() => {
    for (const platform of ['wechat', 'wecom'] as const) {
      const messages = sandbox[platform].messages;
      for (; shown[platform] < messages.length; shown[platform]++) {
        const { api, body } = messages[shown[platform]];
        console.log(`[sandbox] ${platform === 'wechat' ? 'WeChat' : 'WeCom'} ${api} → ${String(body.touser ?? '')}: ${JSON.stringify(body)}`);
      }
    }
  }, 300).unref();
}

function printWelcome(editor: string, sandboxUrl: string): void {
  console.log(
    [
      '',
      '────────────────────────────────────────────────────────────',
      ` Node-RED editor:  ${editor}`,
      ` Sandbox:          ${sandboxUrl} (stand-ins for WeChat, WeCom and C4C)`,
      '',
      ' Try the Q&A bot, as a WeChat user would (in another terminal):',
      `   npm run sandbox -- send --account official --url ${editor}/wechat/official --text hours`,
      `   npm run sandbox -- send --account wecom --url ${editor}/wechat/wecom --text 地址`,
      `   npm run sandbox -- send --account official --url ${editor}/wechat/official --event subscribe`,
      `   npm run sandbox -- send --account official --url ${editor}/wechat/official --text report   (late: sent as a message)`,
      '',
      ' Follow the account → a C4C customer is created:',
      `   npm run sandbox -- send --url ${editor}/wechat/follow --event subscribe`,
      '   npm run sandbox -- customers',
      ' Change that customer in C4C → the follower gets a WeChat message (printed here as [sandbox]):',
      '   npm run sandbox -- change <ObjectID> --set FirstName=Anna',
      '────────────────────────────────────────────────────────────',
      '',
    ].join('\n'),
  );
}

main().catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`The sandbox port ${sandboxPort} is in use (another npm start?). Stop that, or choose another: SANDBOX_PORT=1891 npm start`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
