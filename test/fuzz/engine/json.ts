/**
 * JSON-aware mutations: on the value (a node replaced by one of another type, keys
 * dropped or added, JavaScript's special names, deep nesting, huge strings) and on
 * the text (truncation, duplicate keys, comments, bad escapes, byte mutations).
 */
import { mutateText } from './bytes';
import { Random } from './random';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const JSON_DICTIONARY: readonly string[] = [
  '{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', 'null', 'true', 'false', '-0', '1e309', '0.0000001',
  '"__proto__"', '"constructor"', '"prototype"', '{"__proto__":{"polluted":1}}', '//', '/*', '\uFEFF', '\u0000', '\n',
];

const ODD_STRINGS = ['', ' ', 'null', '0', '-1', '1e309', 'NaN', 'true', '\u0000', '\uD800', '😀', '<xml/>', "'; DROP TABLE x;--", '../../etc/passwd', '%00', 'a,b,c', '@', 'x@y', ':upsert', ':delete', 'a'.repeat(70)];

function randomScalar(rng: Random): Json {
  return rng.pick<() => Json>([
    () => null,
    () => rng.chance(0.5),
    () => rng.pick([0, -1, 1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MIN_VALUE]),
    () => rng.pick(ODD_STRINGS),
    () => 'x'.repeat(rng.pick([100, 5000, 70_000, 200_000])),
    () => [],
    () => ({}),
  ])();
}

/** Paths to the nodes of the value, the root included; not below a depth a parser refuses anyway. */
function paths(value: Json, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (out.length > 500 || prefix.length > 40) return out;
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function getAt(value: Json, path: Array<string | number>): Json {
  let v: Json = value;
  for (const step of path) v = (v as Record<string | number, Json>)[step];
  return v;
}

function setAt(root: Json, path: Array<string | number>, next: Json): Json {
  if (path.length === 0) return next;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path[path.length - 1]] = next;
  return root;
}

function nested(depth: number, leaf: Json): Json {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

type ValueMutation = (rng: Random, root: Json) => Json;

const valueMutations: ReadonlyArray<readonly [number, ValueMutation]> = [
  // Another type in a node's place.
  [4, (rng, root) => setAt(root, rng.pick(paths(root)), randomScalar(rng))],
  // A key dropped.
  [2, (rng, root) => {
    const objects = paths(root).filter((p) => { const v = getAt(root, p); return v !== null && typeof v === 'object'; });
    if (!objects.length) return root;
    const target = getAt(root, rng.pick(objects)) as Record<string, Json> | Json[];
    if (Array.isArray(target)) target.splice(rng.int(target.length), 1);
    else { const k = Object.keys(target); if (k.length) delete target[rng.pick(k)]; }
    return root;
  }],
  // A key added: unknown, or one of JavaScript's own.
  [2, (rng, root) => {
    const objects = paths(root).filter((p) => { const v = getAt(root, p); return v !== null && typeof v === 'object' && !Array.isArray(v); });
    if (!objects.length) return root;
    const target = getAt(root, rng.pick(objects)) as Record<string, Json>;
    const key = rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'unknownField', '', ' ', 'a'.repeat(200)]);
    Object.defineProperty(target, key, { value: randomScalar(rng), enumerable: true, configurable: true, writable: true });
    return root;
  }],
  // Deep nesting (the deepest is made as text, in mutateJson, so nothing here recurses on it).
  [1, (rng, root) => setAt(root, rng.pick(paths(root)), nested(rng.pick([5, 33, 65, 100]), 'leaf'))],
  // A long array.
  // (Each element its own value: a shared one, grown by a later round, would grow ten thousand times over.)
  [1, (rng, root) => { const item = rng.chance(0.5); return setAt(root, rng.pick(paths(root)), Array.from({ length: rng.pick([2, 100, 1001, 10_001]) }, (): Json => (item ? 'x' : {}))); }],
  // A node copied elsewhere.
  [1, (rng, root) => { const all = paths(root); return setAt(root, rng.pick(all), structuredClone(getAt(root, rng.pick(all)))); }],
];

const MAX_TEXT = 4 * 1024 * 1024;

type TextMutation = (rng: Random, text: string) => string;

const textMutations: ReadonlyArray<readonly [number, TextMutation]> = [
  [2, (rng, t) => t.slice(0, rng.int(t.length))],
  // Duplicate key: JSON.parse keeps the last.
  [1, (_rng, t) => t.replace(/^\{("[^"]*":)/, '{$1"dup",$1')],
  [1, (rng, t) => rng.pick(['\uFEFF', '/*c*/', ' ', '\u0000']) + t],
  [1, (rng, t) => t + rng.pick([',', '}', ']', ' //', '\u0000'])],
  [1, (_rng, t) => t.replace(/,\s*"/, ',,"')],
  [1, (_rng, t) => t.replace('"', '"\\x')],
];

/** A mutated text of `value`: value mutations, text mutations, now and then byte mutations. */
export function mutateJson(rng: Random, value: Json): string {
  let copy = structuredClone(value);
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds; i++) copy = rng.weighted(valueMutations)(rng, copy);
  let text = JSON.stringify(copy) ?? 'null';
  if (rng.chance(0.02)) {
    const depth = rng.pick([1000, 20_000]);
    text = text.replace(/"[^"]*"\s*:/, (key) => `${key}${'['.repeat(depth)}1${']'.repeat(depth)},${key}`);
  }
  if (rng.chance(0.25)) text = rng.weighted(textMutations)(rng, text);
  if (rng.chance(0.25)) text = mutateText(rng, text, JSON_DICTIONARY, 3);
  // Above every route's body limit already; more only costs time.
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text;
}

/** A mutated JSON value that still parses: for inputs that reach past JSON.parse. */
export function mutateJsonValue(rng: Random, value: Json): Json {
  let copy = structuredClone(value);
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds; i++) copy = rng.weighted(valueMutations)(rng, copy);
  return copy;
}
