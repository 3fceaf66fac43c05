/** Fuzz cases for c4c-notification-in: notifications as C4C and the Extension Factory send them, broken; and marked ones under a broken login. */
import { basicHeader } from '../../../lib/http/basic-auth';
import { JSON_DICTIONARY, Json, mutateJson } from '../engine/json';
import { mutateText, randomBytes, randomFragments } from '../engine/bytes';
import { Random } from '../engine/random';
import { HttpCase } from './http-case';
import { UNAUTHENTICATED_MARK } from './marker';

export const C4C_NOTIFY_LOGIN = { user: 'c4c-fuzz', password: 'c4c-fuzz-password-0001' };

const ENDPOINT = "https://my000000.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('00163E0123451ED9')";

/** The notification shapes the reader knows (lib/c4c/notification.ts). */
export function sampleNotifications(rng: Random): Json[] {
  const id = `00163E${rng.uint32().toString(16).toUpperCase()}`;
  return [
    { businessObject: 'Customer', businessObjectId: id, event: 'Update', odataServiceEndpoint: ENDPOINT, eventTime: '2024-05-06T08:00:00Z' },
    { topic: 'Account.Root.Updated.v1', data: { 'root-entity-id': id, 'entity-id': id }, eventId: String(rng.uint32()) },
    { businessObjectName: 'Opportunity', rootObjectId: id, changeType: 'Created', nodeId: 'n1' },
    { odataUrl: ENDPOINT, action: 'DELETE' },
  ];
}

export function c4cCase(rng: Random): HttpCase {
  const login = basicHeader(C4C_NOTIFY_LOGIN.user, C4C_NOTIFY_LOGIN.password);
  const kind = rng.weighted<HttpCase['kind']>([
    [65, 'content'],
    [10, 'random'],
    [25, 'auth'],
  ]);
  const headers: Record<string, string> = { 'content-type': rng.pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml']) };
  const sample = rng.pick(sampleNotifications(rng));
  if (kind === 'auth') {
    const marked = { ...(sample as Record<string, Json>), businessObjectId: `${UNAUTHENTICATED_MARK}${rng.uint32()}` };
    const broken = rng.pick(['missing', 'wrong-password', 'wrong-user', 'garbage', 'other-scheme', 'no-colon']);
    const header: Record<string, string | null> = {
      missing: null,
      'wrong-password': basicHeader(C4C_NOTIFY_LOGIN.user, mutateText(rng, C4C_NOTIFY_LOGIN.password, []) + 'x'),
      'wrong-user': basicHeader(C4C_NOTIFY_LOGIN.user + rng.pick(['x', ' ', '@a']), C4C_NOTIFY_LOGIN.password),
      garbage: `Basic ${rng.bytes(rng.range(0, 40)).toString(rng.chance(0.5) ? 'base64' : 'hex')}`,
      'other-scheme': login.replace('Basic', rng.pick(['Bearer', 'Digest', 'basic-'])),
      'no-colon': `Basic ${Buffer.from(C4C_NOTIFY_LOGIN.user + C4C_NOTIFY_LOGIN.password).toString('base64')}`,
    };
    const value = header[broken];
    return { method: 'POST', query: {}, headers: { ...headers, ...(value === null ? {} : { authorization: value }) }, body: Buffer.from(JSON.stringify(marked)), kind, broken };
  }
  headers.authorization = login;
  if (kind === 'random') return { method: 'POST', query: {}, headers, body: rng.chance(0.5) ? randomBytes(rng, 4096) : Buffer.from(randomFragments(rng, JSON_DICTIONARY)), kind };
  if (rng.chance(0.05)) headers['content-type'] = 'application/x-www-form-urlencoded';
  return { method: 'POST', query: {}, headers, body: Buffer.from(mutateJson(rng, sample)), kind };
}
