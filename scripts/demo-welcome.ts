/**
 * What npm start prints once its flows run: the editor, the sandbox, and the sandbox CLI
 * commands that try each scenario. Every command carries the addresses of this run (and
 * --sandbox when the sandbox is not where the CLI looks by default), quoted where a shell
 * would change them, so it works pasted into another terminal exactly as printed,
 * whatever PORT, SANDBOX_PORT and HOST are.
 */
import { DEMO_FOLLOWER_OPENID } from '../sandbox/demo-accounts';
import { sandboxArgs, shellWord } from '../sandbox/demo-addresses';

export interface DemoCommand {
  /** The arguments after `npm run sandbox --`. */
  args: string[];
  note?: string;
}

export interface DemoStep {
  title: string;
  commands: DemoCommand[];
}

export const CLI_PREFIX = 'npm run sandbox --';

/** The command as printed: the CLI prefix and the arguments, each as a shell reads it back. */
export function commandLine(command: DemoCommand): string {
  return [CLI_PREFIX, ...command.args.map(shellWord)].join(' ');
}

export function demoSteps(editorUrl: string, sandboxUrl: string): DemoStep[] {
  const sandbox = sandboxArgs(sandboxUrl);
  const send = (...args: string[]) => ['send', ...args];
  // One follower throughout, so following again and the change reach the customer the first follow created.
  const follow = (event: 'subscribe' | 'unsubscribe') => ({ args: send('--url', `${editorUrl}/wechat/follow`, '--event', event, '--from', DEMO_FOLLOWER_OPENID) });
  return [
    {
      title: 'Try the Q&A bot, as a WeChat user would (in another terminal):',
      commands: [
        { args: send('--account', 'official', '--url', `${editorUrl}/wechat/official`, '--text', 'hours') },
        { args: send('--account', 'wecom', '--url', `${editorUrl}/wechat/wecom`, '--text', '地址') },
        { args: send('--account', 'official', '--url', `${editorUrl}/wechat/official`, '--event', 'subscribe') },
        { args: send('--account', 'official', '--url', `${editorUrl}/wechat/official`, '--text', 'report'), note: 'late: sent as a message' },
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
  ];
}

export function welcomeText(editorUrl: string, sandboxUrl: string): string {
  const rule = '─'.repeat(60);
  const steps = demoSteps(editorUrl, sandboxUrl).flatMap((step) => [
    ` ${step.title}`,
    ...step.commands.map((c) => `   ${commandLine(c)}${c.note ? `   (${c.note})` : ''}`),
    '',
  ]);
  return ['', rule, ` Node-RED editor:  ${editorUrl}`, ` Sandbox:          ${sandboxUrl} (stand-ins for WeChat, WeCom and C4C)`, '', ...steps, rule, ''].join('\n');
}
