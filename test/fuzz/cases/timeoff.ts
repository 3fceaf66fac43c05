/** Fuzz cases for the TimeOff REST routes (/timeoff/leaverequest): broken JSON bodies, odd queries and content types. */
import { Json, mutateJson } from '../engine/json';
import { mutateText, randomBytes } from '../engine/bytes';
import { Random } from '../engine/random';
import { HttpCase } from './http-case';

const TYPES = ['application/json', 'application/json;charset=UTF-8', 'application/merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', ''];

function leaveRequest(rng: Random, method: 'POST' | 'PUT'): Json {
  const body: Record<string, Json> = method === 'POST' ? { requester: `F${rng.int(200)}` } : { id: rng.range(1, 40) };
  if (rng.chance(0.7)) body.start = rng.pick(['2024-05-06', '2024-06-03', '2024/6/3', '']);
  if (rng.chance(0.7)) body.end = rng.pick(['2024-05-08', '2024-06-03', '2024-02-30']);
  if (rng.chance(0.7)) body.reason = rng.pick(['Family visit', '探亲', '']);
  if (rng.chance(0.3)) body.submit = rng.chance(0.5);
  return body;
}

export function timeoffCase(rng: Random): HttpCase {
  const method = rng.pick(['POST', 'PUT', 'GET', 'GET'] as const);
  const headers: Record<string, string> = { 'accept-language': rng.pick(['en', 'zh-CN', 'zh', 'de', '*', '']) };
  if (method === 'GET') {
    const query: Record<string, string> = rng.chance(0.5) ? { id: rng.pick(['1', '2', '0', '-1', 'x', '999999999', '1e3', '']) } : { user: rng.pick(['F1', 'P000001', '', 'a'.repeat(70), '<x>']) };
    if (rng.chance(0.3)) query[rng.pick(['id', 'user', 'callback', 'x'])] = mutateText(rng, 'value', ['&', '=', '%', '\u0000']);
    return { method, path: '', query, headers, body: Buffer.alloc(0), kind: 'content' };
  }
  headers['content-type'] = rng.chance(0.8) ? TYPES[0] : rng.pick(TYPES);
  const random = rng.chance(0.1);
  const body = random ? randomBytes(rng, 2048) : Buffer.from(rng.chance(0.85) ? mutateJson(rng, leaveRequest(rng, method)) : JSON.stringify(leaveRequest(rng, method)));
  return { method, path: '', query: rng.chance(0.1) ? { callback: 'cb' } : {}, headers, body, kind: random ? 'random' : 'content' };
}
