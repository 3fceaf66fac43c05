/**
 * The XML dialect WeChat and WeCom speak: an `<xml>` root holding elements whose text
 * is plain or CDATA, nested only a level or two (`ScanCodeInfo`, `SendPicsInfo`, reply
 * `Articles`). A purpose-built parser is stricter and several times faster than a
 * general one: it refuses DOCTYPE and entity declarations outright (no entity
 * expansion is possible), checks that every tag is closed by its own name, keeps
 * every value as a string (64-bit MsgId stays exact) and ignores attributes.
 */

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

export class XmlFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlFormatError';
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const MAX_DEPTH = 8;

/** Parses a WeChat XML document and returns the children of its root element. */
export function parseXml(text: string): XmlObject {
  const parser = new Parser(text);
  return parser.document();
}

class Parser {
  private pos = 0;
  constructor(private readonly s: string) {}

  document(): XmlObject {
    this.skipProlog();
    if (this.s[this.pos] !== '<') this.fail('expected the root element');
    const { value } = this.element(0);
    this.skipSpaceAndComments();
    if (this.pos !== this.s.length) this.fail('text after the root element');
    if (typeof value === 'string') return {};
    return value as XmlObject;
  }

  private skipProlog(): void {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipSpace();
    if (this.s.startsWith('<?xml', this.pos)) {
      const end = this.s.indexOf('?>', this.pos);
      if (end < 0) this.fail('unterminated XML declaration');
      this.pos = end + 2;
    }
    this.skipSpaceAndComments();
    if (this.s.startsWith('<!', this.pos)) this.fail('DOCTYPE and entity declarations are not accepted');
  }

  /** Parses `<name ...>content</name>` starting at '<'; returns the element's name and value. */
  private element(depth: number): { name: string; value: XmlValue } {
    if (depth > MAX_DEPTH) this.fail('elements nested too deeply');
    const close = this.s.indexOf('>', this.pos);
    if (close < 0) this.fail('unterminated start tag');
    let head = this.s.slice(this.pos + 1, close);
    this.pos = close + 1;
    const selfClosing = head.endsWith('/');
    if (selfClosing) head = head.slice(0, -1);
    const name = head.split(/[\s]/, 1)[0];
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) this.fail(`bad element name "${name.slice(0, 40)}"`);
    if (selfClosing) return { name, value: '' };

    let text = '';
    let children: XmlObject | null = null;
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`element <${name}> is not closed`);
      if (lt > this.pos) text += decodeText(this.s.slice(this.pos, lt), this);
      this.pos = lt;
      if (this.s.startsWith('<![CDATA[', lt)) {
        const end = this.s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        text += this.s.slice(lt + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', lt)) {
        this.skipComment();
      } else if (this.s[lt + 1] === '/') {
        const end = this.s.indexOf('>', lt);
        if (end < 0 || this.s.slice(lt + 2, end).trim() !== name) this.fail(`</${name}> expected`);
        this.pos = end + 1;
        return { name, value: children ?? text };
      } else if (this.s[lt + 1] === '!' || this.s[lt + 1] === '?') {
        this.fail('DOCTYPE, entity declarations and processing instructions are not accepted');
      } else {
        const child = this.element(depth + 1);
        children ??= {};
        addChild(children, child.name, child.value);
      }
    }
  }

  private skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }

  private skipComment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    this.pos = end + 3;
  }

  private skipSpaceAndComments(): void {
    this.skipSpace();
    while (this.s.startsWith('<!--', this.pos)) {
      this.skipComment();
      this.skipSpace();
    }
  }

  fail(reason: string): never {
    throw new XmlFormatError(`malformed XML at offset ${this.pos}: ${reason}`);
  }
}

function addChild(parent: XmlObject, name: string, value: XmlValue): void {
  if (name === '__proto__' || name === 'constructor' || name === 'prototype') return;
  // Object.hasOwn: a name like "toString" must not find the inherited method.
  const existing = Object.hasOwn(parent, name) ? parent[name] : undefined;
  if (existing === undefined) parent[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else parent[name] = [existing, value];
}

function decodeText(raw: string, parser: Parser): string {
  if (raw.indexOf('&') < 0) return raw;
  // The reference part is optional so that any "&" not starting a well-formed
  // reference ("fish & chips", "AT&T") is refused rather than passed through.
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*)?;?/g, (match, ref: string | undefined) => {
    if (!ref || !match.endsWith(';')) parser.fail('bare "&" in text');
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) parser.fail('bad character reference');
      return String.fromCodePoint(code);
    }
    const ch = PREDEFINED[ref];
    if (ch === undefined) parser.fail(`undeclared entity &${ref};`);
    return ch;
  });
}

/** A value for the XML builder: strings go into CDATA, numbers are written bare. */
export type XmlInput = string | number | XmlInputObject | XmlInput[];
export interface XmlInputObject {
  [name: string]: XmlInput | undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Serialises an object as WeChat expects: `<xml><Name><![CDATA[value]]></Name>…</xml>`.
 * Numbers are written bare; so are decimal strings in `bareFields`, which lets a 64-bit
 * MsgId be written as WeChat writes it without passing through a (lossy) number.
 */
export function buildXml(fields: XmlInputObject, root = 'xml', bareFields?: ReadonlySet<string>): string {
  const parts: string[] = [`<${root}>`];
  appendChildren(parts, fields, bareFields);
  parts.push(`</${root}>`);
  // One join yields a flat string: replies are kept for WeChat's retries, and a string
  // built by += is a tree of fragments that costs several times its length in memory.
  return parts.join('');
}

function appendChildren(parts: string[], fields: XmlInputObject, bareFields: ReadonlySet<string> | undefined): void {
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value !== undefined) appendElement(parts, name, value, bareFields);
  }
}

function appendElement(parts: string[], name: string, value: XmlInput, bareFields: ReadonlySet<string> | undefined): void {
  if (Array.isArray(value)) {
    for (const item of value) appendElement(parts, name, item, bareFields);
  } else if (typeof value === 'number' || (typeof value === 'string' && bareFields?.has(name) && DECIMAL.test(value))) {
    parts.push(`<${name}>${value}</${name}>`);
  } else if (typeof value === 'string') {
    parts.push(`<${name}><![CDATA[`, cdataText(value), `]]></${name}>`);
  } else {
    parts.push(`<${name}>`);
    appendChildren(parts, value, bareFields);
    parts.push(`</${name}>`);
  }
}

/** CDATA cannot contain "]]>", so such a value is split across two sections. */
function cdataText(value: string): string {
  return value.includes(']]>') ? value.split(']]>').join(']]]]><![CDATA[>') : value;
}
