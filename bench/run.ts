/**
 * npm run bench: runs each benchmark suite in turn and prints its figures. Every suite
 * measures its own baseline in the same run and reports ratios against it.
 */
import { c4cSuite } from './c4c';
import { dcnSuite } from './dcn';
import { inboundSuite } from './inbound';
import { pushSuite } from './push';
import { sendSuite } from './send';

export interface BenchSuite {
  name: string;
  run(): Promise<string>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const suites: BenchSuite[] = [inboundSuite, c4cSuite, sendSuite, pushSuite, dcnSuite];
  for (const suite of suites) {
    if (only.length && !only.includes(suite.name)) continue;
    console.log(`\n## ${suite.name}\n`);
    console.log(await suite.run());
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
