/**
 * What a V8 CPU profile (node --cpu-prof) says a process spent its time on, in a few
 * categories: each sample goes to the category of its innermost frame that has a
 * source (a native call such as a SQLite statement or an fsync counts for the
 * JavaScript that made it), so "SQLite store" includes the time inside the driver.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  category: string;
  share: number;
}

const CATEGORIES: Array<[string, (url: string) => boolean]> = [
  ['SQLite store (better-sqlite3, writes and fsync)', (u) => u.includes('/better-sqlite3/') || u.includes('/lib/store/sqlite-store')],
  ['PostgreSQL client (pg)', (u) => /\/pg(-[a-z]+)?\//.test(u) || u.includes('/lib/store/postgres-store')],
  ['store SQL layer (lib/store)', (u) => u.includes('/dist/lib/store/')],
  ['WF-DCN processing (lib/dcn)', (u) => u.includes('/dist/lib/dcn/')],
  ['our nodes and HTTP helpers', (u) => u.includes('/dist/nodes/') || u.includes('/dist/lib/http/')],
  ['Express and body parsing', (u) => /\/(express|body-parser|raw-body|router|iconv-lite|qs|type-is|on-finished|finalhandler|send|cookie|cors)\//.test(u)],
  ['Node-RED runtime', (u) => u.includes('/node-red/') || u.includes('/@node-red/')],
  ['Node.js core (http, net, streams)', (u) => u.startsWith('node:')],
];

/** V8's own entries; a Map, since a function may be called "constructor" or "toString". */
const SPECIAL = new Map([
  ['(garbage collector)', 'garbage collection'],
  ['(idle)', 'idle (waiting for work)'],
  ['(program)', 'V8 and native, unattributed'],
]);

function categoryOf(frame: ProfileNode['callFrame']): string | null {
  const special = SPECIAL.get(frame.functionName);
  if (special) return special;
  if (!frame.url) return null;
  return CATEGORIES.find(([, test]) => test(frame.url))?.[0] ?? 'other JavaScript';
}

/**
 * Shares of the sampled time by category, largest first. With `during`, only the samples
 * from the first to the last whose stack has a frame from a source `during` accepts: the
 * time under load, not the start-up before it or the shutdown after it.
 */
export function profileShares(profile: CpuProfile, during?: (url: string) => boolean): ProfileShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const [from, to] = during ? loadWindow(profile, byId, parent, during) : [0, profile.samples.length - 1];
  const resolved = new Map<number, string>();
  const categorise = (id: number): string => {
    const known = resolved.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const category = categoryOf(node.callFrame) ?? (up === undefined ? 'V8 and native, unattributed' : categorise(up));
    resolved.set(id, category);
    return category;
  };
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (i < from || i > to) return;
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const category = categorise(id);
    time.set(category, (time.get(category) ?? 0) + delta);
  });
  return [...time.entries()].map(([category, t]) => ({ category, share: total ? t / total : 0 })).sort((a, b) => b.share - a.share);
}

/** The first and last sample whose stack holds a frame of a source `during` accepts. */
function loadWindow(profile: CpuProfile, byId: Map<number, ProfileNode>, parent: Map<number, number>, during: (url: string) => boolean): [number, number] {
  const inLoad = new Map<number, boolean>();
  const underLoad = (id: number): boolean => {
    const known = inLoad.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const result = during(byId.get(id)!.callFrame.url) || (up !== undefined && underLoad(up));
    inLoad.set(id, result);
    return result;
  };
  const hits = profile.samples.map((id, i) => (underLoad(id) ? i : -1)).filter((i) => i >= 0);
  if (!hits.length) throw new Error('the profile has no sample of the load');
  return [hits[0], hits[hits.length - 1]];
}

/** The functions with the most time of their own (native calls they made included), as "name (source) n%". */
export function topFunctions(profile: CpuProfile, during: ((url: string) => boolean) | undefined, count: number): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const [from, to] = during ? loadWindow(profile, byId, parent, during) : [0, profile.samples.length - 1];
  // A native leaf counts for the nearest frame with a source, as in profileShares.
  const owner = (id: number): ProfileNode => {
    let node = byId.get(id)!;
    for (let up = parent.get(id); !node.callFrame.url && !SPECIAL.has(node.callFrame.functionName) && up !== undefined; up = parent.get(up)) node = byId.get(up)!;
    return node;
  };
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (i < from || i > to) return;
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const { functionName, url } = owner(id).callFrame;
    if (SPECIAL.has(functionName)) return;
    const source = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '');
    const key = `${functionName || '(anonymous)'} (${source})`;
    time.set(key, (time.get(key) ?? 0) + delta);
  });
  return [...time.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, t]) => `${key} ${((t / total) * 100).toFixed(0)}%`);
}

/** The newest .cpuprofile in `dir`. */
export function newestProfile(dir: string): CpuProfile {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(files[0], 'utf8')) as CpuProfile;
}

/** One line: the categories above `min` of the time, as percentages. */
export function sharesLine(shares: ProfileShare[], min = 0.02): string {
  return shares
    .filter((s) => s.share >= min)
    .map((s) => `${s.category} ${(s.share * 100).toFixed(0)}%`)
    .join(', ');
}
