/**
 * What mobile-services-push does. Micro App mode: a string payload is a text, an object
 * `{msgtype, <msgtype>: {…}}` is that message, a Buffer is a media file sent inline; all
 * go to the Users. Generic mode: a string payload is the alert, an object is the
 * notification, sent to users, one user's device, a group, a topic or everyone. The
 * merged answer replaces msg.payload; targets that failed are a warning and
 * msg.payload.failed; errors go to done(err).
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { MobileServicesPushDef } from './mobile-services-push';
import {
  JsonObject,
  MobileServicesError,
  PushOutcome,
  PushResult,
  PushTarget,
  checkedContent,
  checkedNotification,
  failedResults,
  inputError,
  mediaContent,
  textContent,
  userList,
} from '../../lib/mobile-services';
import type { MobileServicesAppNode } from '../mobile-services-app/mobile-services-app';
import { configNode } from '../shared/config-node';
import { flowError } from '../shared/errors';
import { evaluateProperty } from '../shared/properties';
import { NodeStatus } from '../shared/status';

interface PushMessage extends NodeMessage {
  /** Overrides the node's media type for a Buffer payload. */
  mediaType?: unknown;
  filename?: unknown;
  pushResponses?: unknown[];
}

interface FailedTarget extends PushResult {
  meaning: string;
}

const DEFAULT_FILENAMES: Record<string, string> = { image: 'image.jpg', voice: 'voice.amr', video: 'video.mp4', file: 'file.bin' };

export function startPusher(RED: NodeAPI, node: Node, config: MobileServicesPushDef): void {
  const evaluate = (value: string, type: string, msg: NodeMessage) => evaluateProperty(RED, node, value, type, msg);
  const app = configNode<MobileServicesAppNode>(RED, config.app, 'mobile-services-app');
  const status = new NodeStatus(node);

  async function users(msg: NodeMessage): Promise<string[]> {
    const list = userList(config.recipients ? await evaluate(config.recipients, config.recipientsType, msg) : undefined);
    if (!list.length) throw inputError('ms_no_users', 'the push names no users');
    return list;
  }

  async function targetName(msg: NodeMessage): Promise<string> {
    const name = config.targetName ? await evaluate(config.targetName, config.targetNameType, msg) : undefined;
    const text = typeof name === 'string' || typeof name === 'number' ? String(name).trim() : '';
    if (!text) throw inputError('ms_no_target', `the ${config.target} push names no ${config.target}`, { target: config.target });
    return text;
  }

  async function target(msg: NodeMessage): Promise<PushTarget> {
    switch (config.target) {
      case 'device': {
        const [user] = await users(msg);
        return { kind: 'device', user, device: await targetName(msg) };
      }
      case 'group':
        return { kind: 'group', group: await targetName(msg) };
      case 'topic':
        return { kind: 'topic', topic: await targetName(msg) };
      case 'all':
        return { kind: 'all' };
      default:
        return { kind: 'users', users: await users(msg) };
    }
  }

  async function deliver(msg: PushMessage): Promise<void> {
    if (!app) throw new Error(RED._('mobile-services-push.error.noApp'));
    const client = app.client();
    let outcome: PushOutcome;
    if (config.mode === 'generic') {
      const notification = genericNotification(msg.payload);
      const to = await target(msg);
      status.working('mobile-services-push.status.sending');
      outcome = await client.push(to, notification);
    } else {
      const content = microAppContent(msg, config);
      const to = await users(msg);
      status.working('mobile-services-push.status.sending');
      outcome = await client.pushMicroApp(content, to);
    }
    const { responses, ...answer } = outcome;
    const failed: FailedTarget[] = failedResults(answer.pushResults).map((r) => ({ ...r, meaning: meaningOf(RED, r.code) }));
    msg.payload = failed.length ? { ...answer, failed } : answer;
    msg.pushResponses = responses;
    if (failed.length) {
      node.warn(RED._('mobile-services-push.warn.failed', { count: failed.length, detail: failed.map((f) => `${f.target ?? '?'}: ${f.code} ${f.meaning}`).join('; ') }));
      status.warning('mobile-services-push.status.partial');
    } else {
      status.ok('mobile-services-push.status.sent');
    }
  }

  node.on('input', (msg, send, done) => {
    deliver(msg as PushMessage).then(
      () => {
        send(msg);
        done();
      },
      (err: Error) => {
        status.error(statusText(err));
        done(flowError(RED, 'mobile-services-push', err));
      },
    );
  });

  node.on('close', () => status.clear());
}

function microAppContent(msg: PushMessage, config: MobileServicesPushDef): JsonObject {
  const payload = msg.payload;
  if (typeof payload === 'string' || typeof payload === 'number') return textContent(String(payload));
  if (Buffer.isBuffer(payload)) {
    const type = stringOr(msg.mediaType, config.mediaType || 'file');
    const fileName = stringOr(msg.filename, config.fileName || DEFAULT_FILENAMES[type] || '');
    return mediaContent(type, payload, fileName);
  }
  return checkedContent(payload);
}

function genericNotification(payload: unknown): JsonObject {
  if (typeof payload === 'string' || typeof payload === 'number') return { alert: String(payload) };
  return checkedNotification(payload);
}

/** The meaning of a pushResults code in the runtime's language. */
function meaningOf(RED: NodeAPI, code: number): string {
  const key = `mobile-services-push.result.${code}`;
  const text = RED._(key);
  return text === key ? RED._('mobile-services-push.result.unknown', { code }) : text;
}

function statusText(err: Error): string {
  if (err instanceof MobileServicesError && err.kind === 'input') return 'mobile-services-push.status.invalid';
  if (err instanceof MobileServicesError && err.status) return `HTTP ${err.status}`;
  return 'mobile-services-push.status.failed';
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}
