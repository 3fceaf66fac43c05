/**
 * The message wf-dcn-deliver emits for one outbox message: shaped so that a switch on
 * msg.channel wires it straight to wechat-send (recipient msg.to) or
 * mobile-services-push (users msg.users), with everything wf-dcn-ack and the flow need
 * under msg.dcn.
 */
import type { NodeMessage } from 'node-red';
import type { DeviceChannel, OutboxKind, OutboxMessage } from '../../lib/dcn/types';

export const DEFAULT_TEXT = '{{subject}}\n{{body}}';
export const DEFAULT_RETRACTION_TEXT = 'Withdrawn: {{subject}}';

export interface DeliveryTexts {
  message: string;
  retraction: string;
}

/** What msg.dcn carries: the message, its device and this attempt. */
export interface DeliveryFields {
  messageId: string;
  requestId: string;
  kind: OutboxKind;
  attempt: number;
  security: string;
  user: string;
  deviceId: string;
  channel: DeviceChannel;
  address: string;
  msDevice: string;
  subject: string;
  from: string;
  body: string;
  received: string;
  read: boolean;
  priority: boolean;
  /** The last failed attempt's error: on dead letters, and on attempts after a failure. */
  lastError?: string;
}

export interface DeliveryMessage extends NodeMessage {
  _msgid: string;
  payload: string;
  channel: DeviceChannel;
  /** wechat-send's default recipient property. */
  to: string;
  /** mobile-services-push's default users property. */
  users: string[];
  dcn: DeliveryFields;
}

export function deliveryFields(m: OutboxMessage): DeliveryFields {
  const fields: DeliveryFields = {
    messageId: m.messageId,
    requestId: m.requestId,
    kind: m.kind,
    attempt: m.attempt,
    security: m.device.security,
    user: m.device.user,
    deviceId: m.device.deviceId,
    channel: m.device.channel,
    address: m.device.address,
    msDevice: m.device.msDevice,
    subject: m.subject,
    from: m.from,
    body: m.body,
    received: m.received,
    read: m.read,
    priority: m.priority,
  };
  if (m.lastError !== undefined) fields.lastError = m.lastError;
  return fields;
}

export function deliveryMessage(msgid: string, m: OutboxMessage, texts: DeliveryTexts): DeliveryMessage {
  const dcn = deliveryFields(m);
  return {
    _msgid: msgid,
    payload: fillTemplate(m.kind === 'retraction' ? texts.retraction : texts.message, dcn),
    channel: dcn.channel,
    to: dcn.address,
    users: [dcn.address],
    dcn,
  };
}

/**
 * `{{name}}` replaced by the field of that name, as mustache does for plain values: a
 * name that is no field gives ''. Nothing is escaped, since the texts go to chat apps,
 * not into HTML.
 */
export function fillTemplate(template: string, fields: DeliveryFields): string {
  const values = fields as unknown as Record<string, unknown>;
  return template.replace(/\{\{\s*([\w]+)\s*\}\}/g, (_match, name: string) => {
    const value = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    return value === undefined || value === null ? '' : String(value);
  });
}
