/**
 * What wf-dcn-registry does: one operation per message on the hub's device registry,
 * data cache or inbox, with its input in msg.payload; the result replaces msg.payload
 * and the message goes on. Invalid input and store failures go to done(err), for
 * Catch nodes.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { WfDcnHubNode } from '../wf-dcn-hub/wf-dcn-hub';
import { configNode } from '../shared/config-node';
import { flowError } from '../shared/errors';
import { NodeStatus } from '../shared/status';
import { checkDeviceRegistration } from '../../lib/dcn';
import { RegistryInputError, inboxLimit, inputObject, keyInput, optionalText, requiredText } from './registry-input';
import type { WfDcnRegistryDef } from './wf-dcn-registry';

const TYPE = 'wf-dcn-registry';

export const REGISTRY_OPERATIONS = ['register', 'unregister', 'list', 'cache', 'inbox'] as const;
export type RegistryOperation = (typeof REGISTRY_OPERATIONS)[number];

interface RegistryMessage extends NodeMessage {
  operation?: unknown;
}

/** A refusal of the node's own configuration or of msg.operation. */
class OperationError extends Error {
  readonly code = 'dcn_invalid_input';
}

function isOperation(value: unknown): value is RegistryOperation {
  return REGISTRY_OPERATIONS.includes(value as RegistryOperation);
}

export function startRegistryOperation(RED: NodeAPI, node: Node, config: WfDcnRegistryDef): void {
  const status = new NodeStatus(node);
  const hubNode = configNode<WfDcnHubNode>(RED, config.hub, 'wf-dcn-hub');
  const fixed: unknown = config.operation;
  if (!hubNode) {
    node.error(RED._('wf-dcn-registry.errors.noHub'));
    status.error('wf-dcn-registry.status.noHub');
  } else if (fixed !== 'msg' && !isOperation(fixed)) {
    node.error(operationError(fixed).message);
    status.error('wf-dcn-registry.status.badConfig');
  }

  function operationError(operation: unknown): OperationError {
    return new OperationError(RED._('wf-dcn-registry.errors.operation', { operation: String(operation), operations: REGISTRY_OPERATIONS.join(', ') }));
  }

  function statusOf(what: string, params: Record<string, string | number>): string {
    return RED._(`wf-dcn-registry.status.${what}`, params);
  }

  /** Runs the operation on msg.payload, puts the result there, and says what it did (the status text). */
  async function perform(hub: WfDcnHubNode, operation: RegistryOperation, msg: RegistryMessage): Promise<string> {
    const { registry, cache, outbox } = hub.hub;
    switch (operation) {
      case 'register': {
        const device = await registry.register(checkDeviceRegistration(msg.payload));
        msg.payload = device;
        return statusOf('register', { user: device.user, device: device.deviceId });
      }
      case 'unregister': {
        const fields = inputObject(msg.payload);
        const user = requiredText(fields, 'user');
        const removed = await registry.unregister(requiredText(fields, 'security'), user, optionalText(fields, 'deviceId'));
        msg.payload = removed;
        return statusOf('unregister', { user, count: removed });
      }
      case 'list': {
        // Anything but an object (an inject node's timestamp) lists every device.
        const fields = typeof msg.payload === 'object' && msg.payload !== null ? inputObject(msg.payload) : {};
        const devices = await registry.list({ security: optionalText(fields, 'security'), user: optionalText(fields, 'user') });
        msg.payload = devices;
        return statusOf('list', { count: devices.length });
      }
      case 'cache': {
        const fields = inputObject(msg.payload);
        const mbo = requiredText(fields, 'mbo');
        const rows = await cache.read(requiredText(fields, 'package'), mbo, keyInput(fields.key));
        msg.payload = rows;
        return statusOf('cache', { mbo, count: rows.length });
      }
      case 'inbox': {
        const fields = inputObject(msg.payload);
        const user = requiredText(fields, 'user');
        const messages = await outbox.inbox(requiredText(fields, 'security'), user, inboxLimit(fields.limit));
        msg.payload = messages;
        return statusOf('inbox', { user, count: messages.length });
      }
    }
  }

  /** The error for done(): input refusals in the runtime's language, with their code and field. */
  function refusal(err: unknown): Error {
    if (err instanceof RegistryInputError) {
      const text = RED._(`wf-dcn-registry.input.${err.reason}`, err.params);
      return Object.assign(new Error(text, { cause: err }), { code: 'dcn_invalid_input', params: err.params });
    }
    return flowError(RED, TYPE, err);
  }

  node.on('input', (msg, send, done) => {
    const message = msg as RegistryMessage;
    const operation = fixed === 'msg' ? message.operation : fixed;
    const work = (async () => {
      if (!hubNode) throw new Error(RED._('wf-dcn-registry.errors.noHub'));
      if (!isOperation(operation)) throw operationError(operation);
      await hubNode.ready();
      return perform(hubNode, operation, message);
    })();
    work.then(
      (text) => {
        status.ok(text);
        send(msg);
        done();
      },
      (err: unknown) => {
        const error = refusal(err);
        status.error(err instanceof RegistryInputError || err instanceof OperationError ? statusOf('invalid', {}) : statusOf('failed', {}));
        done(error);
      },
    );
  });

  node.on('close', () => status.clear());
}
