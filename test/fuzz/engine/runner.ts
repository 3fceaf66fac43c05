/**
 * Runs fuzz targets: a number of seeded cases each, a few at a time, and reports per
 * target what came back (a histogram of statuses), what broke (crashes: a case that
 * threw or answered what bad input must never get; unhandled rejections and uncaught
 * exceptions seen during the run), what reached a flow that must not have, the RSS
 * before and after, and the time taken. Knows nothing of Node-RED.
 */
import { Random, hashSeed } from './random';

/** What one case came to. */
export interface CaseOutcome {
  /** The histogram key: an HTTP status, 'ok', 'refused:<code>' … */
  status: string;
  /** Set when the case found a problem: why. */
  problem?: string;
  /** A short description of the input, kept for problems. */
  input?: string;
}

export interface FuzzTarget {
  readonly name: string;
  /** One case; `rng` is the case's own generator, so case `index` replays from the seed alone. */
  run(rng: Random, index: number): Promise<CaseOutcome>;
  /** Called once before the first case (a route target notes what its flow saw so far). */
  begin?(): void | Promise<void>;
  /** Messages that reached a flow from an unauthenticated request during this target's cases. */
  leaks?(): number | Promise<number>;
  /** Waits for what the cases left running (a flow still processing). */
  settle?(): Promise<void>;
}

export interface Finding {
  target: string;
  index: number;
  problem: string;
  input?: string;
}

export interface TargetReport {
  target: string;
  cases: number;
  histogram: Record<string, number>;
  /** Cases that found a problem, plus unhandled rejections and uncaught exceptions. */
  crashes: number;
  unhandled: number;
  flowLeaks: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** The JavaScript heap in use after a collection: what a leak grows, where RSS also keeps what the heap once took. */
  heapBeforeMb: number;
  heapAfterMb: number;
  ms: number;
  /** The first findings, to reproduce with --target and --seed. */
  findings: Finding[];
}

export interface RunOptions {
  cases: number;
  seed: string;
  /** Cases in flight at once. */
  concurrency?: number;
  /** Findings kept per target. */
  keep?: number;
}

const MB = 1024 * 1024;

/** RSS and heap in use, in MB; after a collection when the process allows one, so the figures compare what is kept. */
function memoryMb(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
  return { rss: mb(rss), heap: mb(heapUsed) };
}

/** The generator of one case: the same seed, target and index give the same case. */
export function caseRandom(seed: string, target: string, index: number): Random {
  return new Random(hashSeed(seed, target, index));
}

export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<TargetReport> {
  const histogram: Record<string, number> = {};
  const findings: Finding[] = [];
  const keep = options.keep ?? 10;
  let crashes = 0;
  let unhandled = 0;
  const note = (finding: Finding) => {
    crashes++;
    if (findings.length < keep) findings.push(finding);
  };
  const onUnhandled = (reason: unknown) => {
    unhandled++;
    note({ target: target.name, index: -1, problem: `unhandled: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`.slice(0, 600) });
  };
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  await target.begin?.();
  const before = memoryMb();
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < options.cases) {
      const index = next++;
      let outcome: CaseOutcome;
      try {
        outcome = await target.run(caseRandom(options.seed, target.name, index), index);
      } catch (err) {
        outcome = { status: 'threw', problem: `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`.slice(0, 600) };
      }
      histogram[outcome.status] = (histogram[outcome.status] ?? 0) + 1;
      if (outcome.problem) note({ target: target.name, index, problem: outcome.problem, input: outcome.input?.slice(0, 300) });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
    await target.settle?.();
  } finally {
    process.removeListener('unhandledRejection', onUnhandled);
    process.removeListener('uncaughtException', onUnhandled);
  }
  const ms = Date.now() - started;
  const flowLeaks = (await target.leaks?.()) ?? 0;
  const after = memoryMb();
  return { target: target.name, cases: options.cases, histogram, crashes, unhandled, flowLeaks, rssBeforeMb: before.rss, rssAfterMb: after.rss, heapBeforeMb: before.heap, heapAfterMb: after.heap, ms, findings };
}

/** The report as lines of text: one block per target. */
export function formatReport(report: TargetReport): string {
  const statuses = Object.entries(report.histogram)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
  const lines = [
    `${report.target}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s (${Math.round(report.cases / Math.max(report.ms / 1000, 0.001))}/s)`,
    `  statuses   ${statuses}`,
    `  crashes ${report.crashes} (unhandled ${report.unhandled}) · flow leaks ${report.flowLeaks} · RSS ${report.rssBeforeMb} MB -> ${report.rssAfterMb} MB · heap ${report.heapBeforeMb} MB -> ${report.heapAfterMb} MB`,
  ];
  for (const f of report.findings) lines.push(`  ! case ${f.index}: ${f.problem}${f.input ? `\n      input: ${JSON.stringify(f.input)}` : ''}`);
  return lines.join('\n');
}

/** A target passes with no crash and no leak; memory is judged by the reader from the RSS figures. */
export function passed(report: TargetReport): boolean {
  return report.crashes === 0 && report.flowLeaks === 0;
}
