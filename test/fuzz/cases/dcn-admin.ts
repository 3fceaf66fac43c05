/**
 * Fuzz cases for the hub's admin routes (cache, device registry, inbox): odd path
 * segments and queries, broken registrations, and marked registrations under a broken
 * login or for a security configuration the sender may not address.
 */
import { basicHeader } from '../../../lib/http/basic-auth';
import { Json, mutateJson } from '../engine/json';
import { mutateText, randomBytes } from '../engine/bytes';
import { Random } from '../engine/random';
import { DCN_ADMIN, DCN_TRAVEL_APP } from './dcn';
import { HttpCase } from './http-case';
import { UNAUTHENTICATED_MARK } from './marker';

const SEGMENTS = ['travel', 'travel:1.0', 'Trip', 'TripLeg', 'Unknown', 'admin', 'default', 'SUPAdmin', 'jdoe', 'dev-1', '..', '.', '%00', '%2F', '%E4%BD%A0', 'a'.repeat(300), '__proto__', 'constructor', '%', '%ZZ', ' '];

function segment(rng: Random): string {
  if (rng.chance(0.6)) return rng.pick(SEGMENTS);
  return encodeURIComponent(mutateText(rng, rng.pick(SEGMENTS), ['/', '%', '?', '#', '\u0000']));
}

function registration(rng: Random, user: string): Json {
  return { deviceId: `dev-${rng.int(20)}`, channel: rng.pick(['wecom', 'wechat', 'mobile-services', 'inbox']), address: user, msDevice: '', ...(rng.chance(0.2) ? { user } : {}) };
}

export function adminCase(rng: Random): HttpCase {
  const kind = rng.weighted<HttpCase['kind']>([
    [70, 'content'],
    [8, 'random'],
    [22, 'auth'],
  ]);
  if (kind === 'auth') return brokenAuth(rng);
  const sender = rng.chance(0.8) ? DCN_ADMIN : DCN_TRAVEL_APP;
  const authorization = basicHeader(sender.user, sender.password);
  const route = rng.pick(['cache', 'registry-get', 'registry-post', 'registry-delete', 'inbox']);
  const security = rng.chance(0.7) ? (sender.admin ? rng.pick(['default', 'travel']) : sender.security) : segment(rng);
  const user = rng.chance(0.7) ? rng.pick(['SUPAdmin', 'jdoe', `fuzz${rng.int(50)}`]) : segment(rng);
  const headers: Record<string, string> = { authorization };
  switch (route) {
    case 'cache': {
      const query: Record<string, string> = rng.chance(0.5) ? { tripId: `T-${rng.int(50)}` } : {};
      if (rng.chance(0.3)) query[segment(rng)] = segment(rng);
      return { method: 'GET', path: `/cache/${rng.chance(0.7) ? 'travel' : segment(rng)}/${rng.chance(0.7) ? rng.pick(['Trip', 'TripLeg']) : segment(rng)}`, query, headers, body: Buffer.alloc(0), kind };
    }
    case 'registry-get':
      return { method: 'GET', path: `/registry/${security}/${user}`, query: {}, headers, body: Buffer.alloc(0), kind };
    case 'registry-delete':
      return { method: 'DELETE', path: `/registry/${security}/${user}/${rng.chance(0.7) ? `dev-${rng.int(20)}` : segment(rng)}`, query: {}, headers, body: Buffer.alloc(0), kind };
    case 'inbox':
      return { method: 'GET', path: `/inbox/${security}/${user}`, query: rng.chance(0.6) ? { limit: rng.pick(['1', '10', '0', '-1', '1e9', 'x', '', '100000000000000000000']) } : {}, headers, body: Buffer.alloc(0), kind };
    default: {
      const body = kind === 'random' ? randomBytes(rng, 2048) : Buffer.from(rng.chance(0.8) ? mutateJson(rng, registration(rng, user)) : JSON.stringify(registration(rng, user)));
      return { method: 'POST', path: `/registry/${security}/${user}`, query: {}, headers: { ...headers, 'content-type': 'application/json' }, body, kind };
    }
  }
}

/** A registration for a marked user: refused without the right login (401) or outside the sender's security configuration (403). */
function brokenAuth(rng: Random): HttpCase {
  const user = `${UNAUTHENTICATED_MARK}${rng.int(1000)}`;
  const broken = rng.pick(['missing', 'wrong-password', 'garbage', 'forbidden']);
  const header: Record<string, string | null> = {
    missing: null,
    'wrong-password': basicHeader(DCN_ADMIN.user, DCN_ADMIN.password + 'x'),
    garbage: `Basic ${rng.bytes(rng.range(0, 30)).toString('base64')}`,
    forbidden: basicHeader(DCN_TRAVEL_APP.user, DCN_TRAVEL_APP.password),
  };
  const security = broken === 'forbidden' ? rng.pick(['admin', 'default']) : 'default';
  const value = header[broken];
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(value === null ? {} : { authorization: value }) };
  return { method: 'POST', path: `/registry/${security}/${user}`, query: {}, headers, body: Buffer.from(JSON.stringify(registration(rng, user))), kind: 'auth', broken };
}
