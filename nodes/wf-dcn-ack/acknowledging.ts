/**
 * What wf-dcn-ack does: it settles the outbox message named by msg.dcn.messageId. A
 * message from a Catch node (msg.error set) is a failed attempt: the hub hands it out
 * again after its retry delay, or makes it a dead letter after the last attempt. A
 * message from a send node is a delivery, unless the send node's own result says the
 * one recipient was not reached. The message then goes on with msg.dcn.outcome.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { WfDcnHubNode } from '../wf-dcn-hub/wf-dcn-hub';
import { configNode } from '../shared/config-node';
import { flowError } from '../shared/errors';
import { NodeStatus } from '../shared/status';
import type { WfDcnAckDef } from './wf-dcn-ack';

const TYPE = 'wf-dcn-ack';

/** 'duplicate': the message was no longer pending (acknowledged before, withdrawn, dead, or unknown). */
export type AckOutcome = 'delivered' | 'retry' | 'dead' | 'duplicate';

type Fields = Record<string, unknown>;

interface AckMessage extends NodeMessage {
  dcn?: unknown;
  error?: unknown;
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** msg.dcn.attempt: which hand-out failed, so the retry delay grows even when another instance handed it out. */
function attemptOf(msg: AckMessage): number | undefined {
  const attempt = isObject(msg.dcn) ? msg.dcn.attempt : undefined;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 1 ? attempt : undefined;
}

/** msg.dcn.messageId, or null when the message did not come from wf-dcn-deliver. */
export function messageIdOf(msg: AckMessage): string | null {
  const id = isObject(msg.dcn) ? msg.dcn.messageId : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
}

export function startAcknowledging(RED: NodeAPI, node: Node, config: WfDcnAckDef): void {
  const status = new NodeStatus(node);
  const hubNode = configNode<WfDcnHubNode>(RED, config.hub, 'wf-dcn-hub');
  const counts: Record<AckOutcome, number> = { delivered: 0, retry: 0, dead: 0, duplicate: 0 };
  if (!hubNode) {
    node.error(RED._('wf-dcn-ack.errors.noHub'));
    status.error('wf-dcn-ack.status.noHub');
  }

  /** Why the attempt failed, in words kept with the message (its dcn.lastError later); null when it succeeded. */
  function failureOf(msg: AckMessage): string | null {
    if (msg.error !== undefined && msg.error !== null && msg.error !== false) return caughtErrorText(msg.error);
    const result = msg.payload;
    if (!isObject(result)) return null;
    // mobile-services-push passes a push on whose targets failed, with a warning; for one device that is no delivery.
    if (Array.isArray(result.failed) && result.failed.length > 0) {
      return RED._('wf-dcn-ack.failure.targets', { detail: result.failed.map(failedTargetText).join('; ') });
    }
    // wechat-send does the same when WeCom names the recipient invalid.
    if (isObject(result.partial)) return RED._('wf-dcn-ack.failure.partial', { detail: JSON.stringify(result.partial) });
    return null;
  }

  async function settle(hub: WfDcnHubNode, msg: AckMessage, messageId: string): Promise<AckOutcome> {
    await hub.ready();
    const failure = failureOf(msg);
    if (failure === null) return (await hub.worker.acknowledge(messageId)) ? 'delivered' : 'duplicate';
    const next = await hub.worker.fail(messageId, failure, attemptOf(msg));
    return next === 'unknown' ? 'duplicate' : next;
  }

  function showCounts(): void {
    const text = RED._('wf-dcn-ack.status.counts', counts);
    if (counts.dead > 0) status.warning(text);
    else status.ok(text);
  }

  node.on('input', (msg, send, done) => {
    const message = msg as AckMessage;
    const messageId = messageIdOf(message);
    if (!messageId) {
      status.error('wf-dcn-ack.status.noMessageId');
      return done(new Error(RED._('wf-dcn-ack.errors.noMessageId')));
    }
    if (!hubNode) return done(new Error(RED._('wf-dcn-ack.errors.noHub')));
    settle(hubNode, message, messageId).then(
      (outcome) => {
        // The hub's pending / dead counts changed: its status reads them again soon.
        hubNode.statsChanged();
        counts[outcome]++;
        (message.dcn as Fields).outcome = outcome;
        showCounts();
        send(msg);
        done();
      },
      (err: unknown) => {
        status.error('wf-dcn-ack.status.failed');
        done(flowError(RED, TYPE, err));
      },
    );
  });

  node.on('close', () => status.clear());
}

/** msg.error as a Catch node sets it: `{message, source: {type, name, id}}`; the sending node's name first. */
function caughtErrorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (!isObject(error)) return String(error);
  const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
  const source = isObject(error.source) ? error.source : null;
  const by = source ? String(source.name || source.type || source.id || '') : '';
  return by ? `${by}: ${message}` : message;
}

function failedTargetText(target: unknown): string {
  if (!isObject(target)) return String(target);
  return [target.target, target.code, target.meaning ?? target.message].filter((part) => part !== undefined && part !== null && part !== '').join(' ');
}
