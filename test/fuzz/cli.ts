/**
 * `npm run fuzz`: every parser and route target, 100,000 cases each unless told
 * otherwise, and a report per target (cases, statuses, crashes, flow leaks, RSS before
 * and after, time). Exits 1 when any target failed.
 *
 *   npm run fuzz -- [--cases N] [--seed S] [--target NAME[,NAME…]] [--concurrency C]
 *
 * A target is chosen by any part of its name (e.g. `--target wechat-in:safe`, `--target parser`).
 * A finding is replayed with the same --seed and --target: case numbers are stable.
 */
import { Agent } from 'node:http';
import { formatReport, FuzzTarget, passed, runTarget, TargetReport } from './engine/runner';
import { FuzzNodeRed } from './targets/fuzz-flow';
import { PARSER_TARGETS } from './targets/parsers';
import { routeTargets } from './targets/routes';

export interface FuzzOptions {
  cases: number;
  seed: string;
  targets: string[];
  concurrency: number;
}

export function parseArguments(argv: readonly string[]): FuzzOptions {
  const options: FuzzOptions = { cases: 100_000, seed: 'wxbridge', targets: [], concurrency: 8 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--cases':
        options.cases = positive(value, '--cases');
        i++;
        break;
      case '--seed':
        if (!value) throw new Error('--seed needs a value');
        options.seed = value;
        i++;
        break;
      case '--target':
        if (!value) throw new Error('--target needs a name');
        options.targets.push(...value.split(',').filter(Boolean));
        i++;
        break;
      case '--concurrency':
        options.concurrency = positive(value, '--concurrency');
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (options: --cases N, --seed S, --target NAME, --concurrency C)`);
    }
  }
  return options;
}

function positive(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a whole number above 0`);
  return n;
}

const chosen = (options: FuzzOptions) => (target: FuzzTarget) => options.targets.length === 0 || options.targets.some((t) => target.name.includes(t));

async function runAll(targets: FuzzTarget[], options: FuzzOptions, concurrency: number, reports: TargetReport[]): Promise<void> {
  for (const target of targets.filter(chosen(options))) {
    const report = await runTarget(target, { cases: options.cases, seed: options.seed, concurrency });
    reports.push(report);
    process.stdout.write(formatReport(report) + '\n');
  }
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  process.stdout.write(`fuzz: seed "${options.seed}", ${options.cases} cases per target, Node ${process.version}\n`);
  const started = Date.now();
  const reports: TargetReport[] = [];
  // Parsers run in this process one case at a time: they are synchronous at heart.
  await runAll(PARSER_TARGETS.map((make) => make()), options, 1, reports);
  const rig = new FuzzNodeRed();
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const routes = routeTargets(rig, agent);
  if (routes.some(chosen(options))) {
    // One Node-RED for every route, started only when a route target is chosen.
    await rig.start();
    try {
      await runAll(routes, options, options.concurrency, reports);
    } finally {
      agent.destroy();
      await rig.stop();
    }
  }
  const failed = reports.filter((r) => !passed(r));
  const total = reports.reduce((sum, r) => sum + r.cases, 0);
  process.stdout.write(`\n${reports.length} targets, ${total} cases in ${((Date.now() - started) / 1000).toFixed(0)} s: ${failed.length ? `FAILED ${failed.map((r) => r.target).join(', ')}` : 'all passed'}\n`);
  process.exitCode = failed.length ? 1 : 0;
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`fuzz: ${err.message}\n`);
    process.exitCode = 2;
  });
}
