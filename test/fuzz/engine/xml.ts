/**
 * XML-aware mutations of a WeChat message (an `<xml>` root of simple elements): on its
 * fields (wrong tags, duplicates, nesting where text belongs, huge or odd values) and
 * on its text (DOCTYPE and entities, broken CDATA, wrong closing tags, depth, junk
 * around the root). The result is usually still XML-like, so the parser gets far.
 */
import { mutateText } from './bytes';
import { Random } from './random';

export type XmlFields = { [name: string]: XmlFieldValue };
export type XmlFieldValue = string | XmlFields | XmlFieldValue[];

export const XML_DICTIONARY: readonly string[] = [
  '<xml>', '</xml>', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<!DOCTYPE xml>', '<!ENTITY a "b">',
  '&amp;', '&lt;', '&#0;', '&#x110000;', '&#65;', '&unknown;', '&', '<', '>', '/>', '</', '"', "'", '=',
  '<MsgType>', '</MsgType>', '<Content>', '</Content>', '<ToUserName>', '<FromUserName>', '<Encrypt>', '</Encrypt>',
  '<CreateTime>', '<MsgId>', '<Event>', '<AgentID>', '<__proto__>', '</__proto__>', '<constructor>', '\uFEFF', '\u0000', '\r\n',
];

const FIELD_NAMES = ['ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Content', 'MsgId', 'Event', 'EventKey', 'AgentID', 'PicUrl', 'MediaId', 'Location_X', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a.b-c', '_x'];

const ODD_VALUES = [
  '', ' ', '-1', '0', '1e309', 'NaN', '18446744073709551616', '99999999999999999999999', '1.5', '0x10', 'null', 'undefined', 'true',
  '\u0000', '\uFFFD', '\uD800', '😀', '<', ']]>', 'a]]>b', '&amp;', 'text', 'event', 'subscribe', 'gh_0000', 'a'.repeat(300),
];

type FieldMutation = (rng: Random, fields: XmlFields) => void;

const keys = (fields: XmlFields) => Object.keys(fields);

const mutations: ReadonlyArray<readonly [number, FieldMutation]> = [
  // Drop a field.
  [2, (rng, f) => { const k = keys(f); if (k.length) delete f[rng.pick(k)]; }],
  // Duplicate a field: the parser makes it an array.
  [2, (rng, f) => { const k = keys(f); if (k.length) { const name = rng.pick(k); f[name] = [f[name], f[name]]; } }],
  // An odd value.
  [3, (rng, f) => { const k = keys(f); if (k.length) f[rng.pick(k)] = rng.pick(ODD_VALUES); }],
  // Nested elements where text belongs.
  [2, (rng, f) => { const k = keys(f); if (k.length) f[rng.pick(k)] = { Inner: rng.pick(ODD_VALUES), Deeper: { X: 'y' } }; }],
  // A huge value.
  [1, (rng, f) => { const k = keys(f); if (k.length) f[rng.pick(k)] = 'x'.repeat(rng.pick([1000, 20_000, 200_000, 300_000])); }],
  // A field of another message type, or a name that means something to JavaScript.
  [2, (rng, f) => { f[rng.pick(FIELD_NAMES)] = rng.pick(ODD_VALUES); }],
  // Renamed field.
  [1, (rng, f) => { const k = keys(f); if (k.length) { const name = rng.pick(k); f[name + rng.pick(['x', '_', '.1', ''])] = f[name]; delete f[name]; } }],
];

/** Writes fields as WeChat does (CDATA), except where a mutation asked for another form. */
export function writeXml(fields: XmlFields, root = 'xml'): string {
  const parts: string[] = [`<${root}>`];
  for (const [name, value] of Object.entries(fields)) appendElement(parts, name, value);
  parts.push(`</${root}>`);
  return parts.join('');
}

function appendElement(parts: string[], name: string, value: XmlFieldValue): void {
  if (Array.isArray(value)) for (const item of value) appendElement(parts, name, item);
  else if (typeof value === 'string') parts.push(`<${name}><![CDATA[${value}]]></${name}>`);
  else {
    parts.push(`<${name}>`);
    for (const [child, v] of Object.entries(value)) appendElement(parts, child, v);
    parts.push(`</${name}>`);
  }
}

type TextMutation = (rng: Random, xml: string) => string;

const insertAt = (rng: Random, xml: string, piece: string) => {
  const at = rng.int(xml.length + 1);
  return xml.slice(0, at) + piece + xml.slice(at);
};

const textMutations: ReadonlyArray<readonly [number, TextMutation]> = [
  [2, (_rng, x) => `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY b "${'x'.repeat(10)}">]>${x}`],
  [1, (_rng, x) => x.replace('<![CDATA[', '<![CDATA[&e;')],
  [2, (rng, x) => insertAt(rng, x, rng.pick(['&e;', '&#0;', '&#xD800;', '&#x110000;', '&lt', '& ', '&amp;', '&#65;', '&#;']))],
  // CDATA broken: unterminated, or closed early.
  [2, (_rng, x) => x.replace(']]>', '')],
  [2, (rng, x) => insertAt(rng, x, rng.pick([']]>', '<![CDATA[', '<![CDATA[x']))],
  // Wrong or missing closing tags.
  [2, (_rng, x) => x.replace(/<\/(\w+)>/, '</$1x>')],
  [1, (_rng, x) => x.replace(/<\/\w+>/, '')],
  [1, (_rng, x) => x.replace('</xml>', '')],
  // Deep nesting, beyond any limit.
  [1, (rng, x) => { const depth = rng.pick([9, 20, 2000]); return x.replace('</xml>', '<a>'.repeat(depth) + 'v' + '</a>'.repeat(depth) + '</xml>'); }],
  // Attributes, comments, processing instructions, self-closing tags.
  [1, (_rng, x) => x.replace('<xml>', '<xml a="1" b=\'2\' c>')],
  [1, (rng, x) => insertAt(rng, x, rng.pick(['<!-- c -->', '<!-- unterminated', '<?pi x?>', '<Empty/>', '<Empty />', '<1bad>', '< xml>']))],
  // Junk around the root.
  [1, (rng, x) => rng.pick(['\uFEFF', ' \n', 'junk', '<other/>']) + x],
  [1, (rng, x) => x + rng.pick(['junk', '<xml></xml>', '<!-- after -->', '\u0000', ' '])],
  // Another root, or none.
  [1, (_rng, x) => x.replace(/^<xml>/, '<root>').replace(/<\/xml>$/, '</root>')],
  [1, (_rng, x) => x.replace(/^<xml>/, '').replace(/<\/xml>$/, '')],
];

/**
 * A mutated rendering of `fields`: field mutations, then text mutations, then now and
 * then byte mutations with XML fragments spliced in.
 */
export function mutateXml(rng: Random, fields: XmlFields): string {
  const copy = structuredClone(fields);
  const fieldRounds = rng.int(3);
  for (let i = 0; i < fieldRounds; i++) rng.weighted(mutations)(rng, copy);
  let xml = writeXml(copy);
  const textRounds = fieldRounds === 0 ? rng.range(1, 2) : rng.int(2);
  for (let i = 0; i < textRounds; i++) xml = rng.weighted(textMutations)(rng, xml);
  if (rng.chance(0.3)) xml = mutateText(rng, xml, XML_DICTIONARY, 3);
  return xml;
}
