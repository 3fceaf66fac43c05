/**
 * The hub's configuration as the editor stores it, checked at start: the senders (one
 * credential holding a JSON list, often `${DCN_SENDERS}`) and the MBO definitions (a JSON
 * property). A problem names the row and field it is in, never a value: the senders'
 * text holds passwords.
 */
import type { DcnSender, MboDefinition } from '../../lib/dcn/types';

/** A problem with the hub's configuration; `code` names its text under wf-dcn-hub.problem. */
export class HubConfigProblem extends Error {
  constructor(
    readonly code: string,
    readonly params: Record<string, string | number> = {},
  ) {
    super(`${code} ${JSON.stringify(params)}`);
    this.name = 'HubConfigProblem';
  }
}

/** Security configurations whose senders may address every configuration unless told otherwise. */
const ADMIN_CONFIGURATIONS = new Set(['admin', 'default']);
const MAX_SENDERS = 1000;
const MAX_MBOS = 1000;
/** Names of packages, MBOs and attributes: no spaces, commas or colons (a package's version is not part of its name). */
const NAME = /^[^\s,:]{1,100}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsedList(text: string, notJson: string, notList: string, max: number): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HubConfigProblem(notJson);
  }
  if (!Array.isArray(value)) throw new HubConfigProblem(notList);
  if (value.length > max) throw new HubConfigProblem('tooMany', { max });
  return value;
}

/** The senders from the credential's text; '' (or nothing) is no sender at all. */
export function parseSenders(text: string | undefined): DcnSender[] {
  if (!text || !text.trim()) return [];
  const rows = parsedList(text, 'sendersNotJson', 'sendersNotList', MAX_SENDERS);
  const seen = new Set<string>();
  return rows.map((row, i) => {
    const sender = senderOf(row, i + 1);
    // The same user may send in several security configurations (logging in as user@configuration), once in each.
    const id = `${sender.user}\u0000${sender.security}`;
    if (seen.has(id)) throw new HubConfigProblem('senderTwice', { row: i + 1 });
    seen.add(id);
    return sender;
  });
}

function senderOf(row: unknown, n: number): DcnSender {
  if (!isRecord(row)) throw new HubConfigProblem('senderNotObject', { row: n });
  const user = typeof row.user === 'string' ? row.user.trim() : '';
  if (!user || /[\s:]/.test(user)) throw new HubConfigProblem('senderField', { row: n, field: 'user' });
  if (typeof row.password !== 'string' || row.password === '') throw new HubConfigProblem('senderField', { row: n, field: 'password' });
  const security = typeof row.security === 'string' ? row.security.trim() : '';
  if (!security || !NAME.test(security)) throw new HubConfigProblem('senderField', { row: n, field: 'security' });
  if (row.admin !== undefined && typeof row.admin !== 'boolean') throw new HubConfigProblem('senderField', { row: n, field: 'admin' });
  // Absent: as SMP had it, senders of the admin and default configurations may address all.
  const admin = typeof row.admin === 'boolean' ? row.admin : ADMIN_CONFIGURATIONS.has(security);
  return { user, password: row.password, security, admin };
}

/** The MBO definitions from the property's text; '' (or nothing) is none. */
export function parseMbos(text: string | undefined): MboDefinition[] {
  if (!text || !text.trim()) return [];
  const rows = parsedList(text, 'mbosNotJson', 'mbosNotList', MAX_MBOS);
  const seen = new Set<string>();
  return rows.map((row, i) => {
    const mbo = mboOf(row, i + 1);
    const id = `${mbo.package}\u0000${mbo.name}`;
    if (seen.has(id)) throw new HubConfigProblem('mboTwice', { row: i + 1, mbo: mbo.name });
    seen.add(id);
    return mbo;
  });
}

function mboOf(row: unknown, n: number): MboDefinition {
  if (!isRecord(row)) throw new HubConfigProblem('mboNotObject', { row: n });
  // A package given with its version ("travel:1.0") means the package: requests name it with one.
  const pkg = typeof row.package === 'string' ? row.package.trim().replace(/:[^:]*$/, '') : '';
  if (!NAME.test(pkg)) throw new HubConfigProblem('mboField', { row: n, field: 'package' });
  const name = typeof row.name === 'string' ? row.name.trim() : '';
  if (!NAME.test(name)) throw new HubConfigProblem('mboField', { row: n, field: 'name' });
  const keys = names(row.keys, n, 'keys');
  if (keys.length === 0) throw new HubConfigProblem('mboField', { row: n, field: 'keys' });
  const attributes = names(row.attributes ?? [], n, 'attributes');
  return { package: pkg, name, keys, attributes };
}

/** A list of attribute names: an array, or one comma-separated text as the editor's fields show it. */
function names(value: unknown, n: number, field: string): string[] {
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list)) throw new HubConfigProblem('mboField', { row: n, field });
  const out: string[] = [];
  for (const item of list) {
    const name = typeof item === 'string' ? item.trim() : '';
    if (typeof value === 'string' && name === '') continue;
    if (!NAME.test(name)) throw new HubConfigProblem('mboField', { row: n, field });
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
