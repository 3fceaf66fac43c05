/**
 * What npm start prints once its flows run: the chat page, the editor, the sandbox, and the sandbox CLI
 * commands that try each scenario. Every command carries the addresses of this run (and
 * --sandbox when the sandbox is not where the CLI looks by default), quoted where a shell
 * would change them, so it works pasted into another terminal exactly as printed,
 * whatever PORT, SANDBOX_PORT and HOST are.
 */
import { DEMO_DCN, DEMO_FOLLOWER_OPENID, DEMO_MICRO_APP } from '../sandbox/demo-accounts';
import { DEFAULT_NODE_RED_URL, sandboxArgs, shellWord } from '../sandbox/demo-addresses';
import { TRIP_SUBJECT, defaultDcnUrl } from '../sandbox/dcn-requests';
import { demoWebhookUrl, followWebhookUrl } from '../sandbox/demo-webhooks';

export interface DemoCommand {
  /** The arguments after `npm run sandbox --`. */
  args: string[];
  note?: string;
}

export interface DemoStep {
  title: string;
  commands: DemoCommand[];
  /** Addresses to open or call, printed as they are (no CLI prefix). */
  links?: string[];
}

export const CLI_PREFIX = 'npm run sandbox --';

/** The command as printed: the CLI prefix and the arguments, each as a shell reads it back. */
export function commandLine(command: DemoCommand): string {
  return [CLI_PREFIX, ...command.args.map(shellWord)].join(' ');
}

/** The next Monday after `today` and the Wednesday after it, as YYYY-MM-DD: a leave request of three working days. */
export function nextWorkingWeek(today: Date): { start: string; end: string } {
  const day = (offset: number) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + offset)).toISOString().slice(0, 10);
  const toMonday = ((8 - today.getUTCDay()) % 7) || 7;
  return { start: day(toMonday), end: day(toMonday + 2) };
}

export function demoSteps(editorUrl: string, sandboxUrl: string, today: Date = new Date()): DemoStep[] {
  const sandbox = sandboxArgs(sandboxUrl);
  const send = (...args: string[]) => ['send', ...args];
  // One follower throughout, so following again and the change reach the customer the first follow created.
  const follow = (event: 'subscribe' | 'unsubscribe') => ({ args: send('--url', followWebhookUrl(editorUrl), '--event', event, '--from', DEMO_FOLLOWER_OPENID) });
  return [
    {
      title: 'Try the Q&A bot, as a WeChat user would (in another terminal):',
      commands: [
        { args: send('--account', 'official', '--url', demoWebhookUrl('official', editorUrl), '--text', 'hours') },
        { args: send('--account', 'wecom', '--url', demoWebhookUrl('wecom', editorUrl), '--text', '地址') },
        { args: send('--account', 'official', '--url', demoWebhookUrl('official', editorUrl), '--event', 'subscribe') },
        { args: send('--account', 'official', '--url', demoWebhookUrl('official', editorUrl), '--text', 'report'), note: 'late: sent as a message' },
      ],
    },
    {
      title: 'Follow the account → a C4C customer is created, with the OpenID as its WechatID:',
      commands: [follow('subscribe'), { args: ['customers', ...sandbox] }],
    },
    {
      title: 'Unfollow, then follow again → welcomed back: no second customer, no "updated" message:',
      commands: [follow('unsubscribe'), follow('subscribe')],
    },
    {
      title: 'Change that customer in C4C → the follower gets a WeChat message (printed here as [sandbox]):',
      commands: [{ args: ['change', DEMO_FOLLOWER_OPENID, '--set', 'FirstName=Anna', ...sandbox] }],
    },
    ...timeOffSteps(editorUrl, sandbox, today),
    ...dcnSteps(editorUrl, sandbox),
  ];
}

/** WF-DCN: a back end's request fans out to SUPAdmin's two devices; then withdrawn; then one that fails. */
function dcnSteps(editorUrl: string, sandbox: string[]): DemoStep[] {
  // The CLI posts to npm start's hub by default; another address is given as the servlet URL.
  const hub = editorUrl.replace(/\/+$/, '') === DEFAULT_NODE_RED_URL ? [] : ['--url', defaultDcnUrl(editorUrl)];
  const receiver = DEMO_DCN.receiver;
  return [
    {
      title: `WF-DCN fan-out: a back end posts "${TRIP_SUBJECT}" for ${receiver} → the trips land in the hub's cache, his WeCom app and Mobile Services device get it:`,
      commands: [
        { args: ['dcn', 'post', ...hub], note: 'prints the result JSON' },
        { args: ['dcn', 'status', ...hub, ...sandbox], note: 'the cached trips, the devices, what reached them' },
      ],
    },
    {
      title: 'Withdraw it (a :delete with the same id reaches both devices), then a request whose third data message fails:',
      commands: [
        { args: ['dcn', 'delete', ...hub] },
        { args: ['dcn', 'post', '--template', 'trip-failing', ...hub], note: '500 with the log records: nothing cached, nothing delivered' },
      ],
    },
  ];
}

/** TimeOff: the requester chats through Mobile Services, the approver decides; also the page and the REST API. */
function timeOffSteps(editorUrl: string, sandbox: string[], today: Date): DemoStep[] {
  const { start, end } = nextWorkingWeek(today);
  const { requester, approver } = DEMO_MICRO_APP;
  const chat = (text: string, from = requester) => ['send', '--account', 'microapp', '--from', from, '--text', text, ...sandbox];
  return [
    {
      title: `TimeOff through SAP Mobile Services: ${requester} asks for leave; ${approver}, the approver, gets a text card:`,
      commands: [
        { args: chat('create') },
        { args: chat(`start ${start}`) },
        { args: chat(`end ${end}`) },
        { args: chat('reason Family visit') },
        { args: chat('submit'), note: 'the reply names the request number' },
      ],
    },
    {
      title: `As the approver, decide it (type: approve <number>), and see the pushes ${requester} got:`,
      commands: [
        { args: ['chat', '--account', 'microapp', '--from', approver, ...sandbox], note: 'interactive; /quit ends it' },
        { args: ['pushes', '--user', requester, ...sandbox] },
      ],
    },
    {
      title: 'The same requests on the page, and through the REST API:',
      commands: [],
      links: [`${editorUrl}/timeoff/?user=${requester}`, `curl '${editorUrl}/timeoff/leaverequest?user=${requester}'`],
    },
  ];
}

/** The text npm start prints; the chat page, when it runs, comes first: it is where a newcomer starts. */
export function welcomeText(editorUrl: string, sandboxUrl: string, chatPageUrl?: string): string {
  const rule = '─'.repeat(60);
  const steps = demoSteps(editorUrl, sandboxUrl).flatMap((step) => [
    ` ${step.title}`,
    ...step.commands.map((c) => `   ${commandLine(c)}${c.note ? `   (${c.note})` : ''}`),
    ...(step.links ?? []).map((link) => `   ${link}`),
    '',
  ]);
  const chat = chatPageUrl ? [` Chat page:        ${chatPageUrl}   (open it in a browser: every scenario, as a phone user sees it)`] : [];
  return ['', rule, ...chat, ` Node-RED editor:  ${editorUrl}`, ` Sandbox:          ${sandboxUrl} (stand-ins for WeChat, WeCom, C4C and SAP Mobile Services)`, '', ...steps, rule, ''].join('\n');
}
