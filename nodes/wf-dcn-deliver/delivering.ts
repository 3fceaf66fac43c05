/**
 * What wf-dcn-deliver does: it registers with the hub's delivery worker for its channels
 * and emits each message the worker leases to it (output 1) and each message that used
 * up its attempts (output 2, once). Every message it emits is already committed in the
 * hub's store; it stays there, leased, until wf-dcn-ack settles it or the visibility
 * timeout hands it out again, so nothing emitted is lost with a crash or a redeploy.
 */
import type { Node, NodeAPI } from 'node-red';
import { DEVICE_CHANNELS, DeviceChannel, OutboxMessage } from '../../lib/dcn/types';
import type { WfDcnHubNode } from '../wf-dcn-hub/wf-dcn-hub';
import { configNode } from '../shared/config-node';
import { errorText } from '../shared/errors';
import { NodeStatus } from '../shared/status';
import { DEFAULT_RETRACTION_TEXT, DEFAULT_TEXT, DeliveryTexts, deliveryMessage } from './delivery-message';
import type { WfDcnDeliverDef } from './wf-dcn-deliver';

const TYPE = 'wf-dcn-deliver';

/** The channels a flow delivers itself; 'inbox' messages are delivered by being stored. */
export const DELIVERABLE_CHANNELS: readonly DeviceChannel[] = DEVICE_CHANNELS.filter((c) => c !== 'inbox');

/** The configured channels that can be delivered; null when the setting names something else. */
export function deliveryChannels(setting: unknown): DeviceChannel[] | null {
  if (setting === undefined || setting === null || setting === '') return [...DELIVERABLE_CHANNELS];
  const named = Array.isArray(setting) ? setting : String(setting).split(',');
  const channels = named.map((c) => String(c).trim()).filter((c) => c !== '');
  if (!channels.length) return null;
  const known = channels.filter((c): c is DeviceChannel => DELIVERABLE_CHANNELS.includes(c as DeviceChannel));
  return known.length === channels.length ? [...new Set(known)] : null;
}

export function startDelivering(RED: NodeAPI, node: Node, config: WfDcnDeliverDef): void {
  const status = new NodeStatus(node);
  const hubNode = configNode<WfDcnHubNode>(RED, config.hub, 'wf-dcn-hub');
  const channels = deliveryChannels(config.channels);
  const texts: DeliveryTexts = {
    message: typeof config.text === 'string' && config.text !== '' ? config.text : DEFAULT_TEXT,
    retraction: typeof config.retractionText === 'string' && config.retractionText !== '' ? config.retractionText : DEFAULT_RETRACTION_TEXT,
  };
  const counts = { sent: 0, dead: 0 };
  let removeDeliverer: (() => void) | null = null;
  let closed = false;

  function showCounts(): void {
    const text = RED._('wf-dcn-deliver.status.counts', counts);
    if (counts.dead > 0) status.warning(text);
    else status.ok(text);
  }

  function deliver(m: OutboxMessage): void {
    counts.sent++;
    node.send([deliveryMessage(RED.util.generateId(), m, texts), null]);
    showCounts();
  }

  function dead(m: OutboxMessage): void {
    counts.dead++;
    node.send([null, deliveryMessage(RED.util.generateId(), m, texts)]);
    showCounts();
  }

  if (!hubNode) {
    node.error(RED._('wf-dcn-deliver.errors.noHub'));
    status.error('wf-dcn-deliver.status.noHub');
  } else if (!channels) {
    node.error(RED._('wf-dcn-deliver.errors.channels', { channels: DELIVERABLE_CHANNELS.join(', ') }));
    status.error('wf-dcn-deliver.status.badConfig');
  } else {
    status.idle('wf-dcn-deliver.status.starting');
    hubNode.ready().then(
      () => {
        // A redeploy may have stopped this node while the hub was still opening its store.
        if (closed) return;
        removeDeliverer = hubNode.worker.addDeliverer({ channels, deliver, dead });
        showCounts();
      },
      (err: unknown) => {
        if (closed) return;
        node.error(RED._('wf-dcn-deliver.errors.hubFailed', { reason: errorText(RED, TYPE, err) }));
        status.error('wf-dcn-deliver.status.hubFailed');
      },
    );
  }

  node.on('close', () => {
    closed = true;
    // Messages leased to this node and not yet acknowledged come again after the visibility timeout.
    removeDeliverer?.();
    removeDeliverer = null;
    status.clear();
  });
}
