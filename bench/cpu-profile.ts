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

const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'garbage collection',
  '(idle)': 'idle (waiting for work)',
  '(program)': 'V8 and native, unattributed',
};

function categoryOf(frame: ProfileNode['callFrame']): string | null {
  if (SPECIAL[frame.functionName]) return SPECIAL[frame.functionName];
  if (!frame.url) return null;
  return CATEGORIES.find(([, test]) => test(frame.url))?.[0] ?? 'other JavaScript';
}

/** Shares of the sampled time by category, largest first. */
export function profileShares(profile: CpuProfile): ProfileShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
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
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const category = categorise(id);
    time.set(category, (time.get(category) ?? 0) + delta);
  });
  return [...time.entries()].map(([category, t]) => ({ category, share: total ? t / total : 0 })).sort((a, b) => b.share - a.share);
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
