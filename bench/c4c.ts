/**
 * C4C client figures against the sandbox tenant: HTTP round trips per create in steady
 * state (the CSRF token is held, so the goal is 1.0), and query throughput in entities/s
 * for 10,000 entities over 10 pages.
 *
 * Query baseline ("raw"): what any consumer of the same pages does at least, in the same
 * process against the same server: a keep-alive http.get of each page with Basic auth,
 * the body collected into one Buffer and decoded, JSON.parse, d.results kept in one array
 * (the client returns all entities too, so both hold the same data), d.__next followed.
 * The client's figure is the same pages through C4CClient.query({ allPages: true }): the
 * same transport plus its request bookkeeping (auth header, cookie jar, concurrency
 * limit) and the unwrapping (no __metadata, dates as ISO strings, ETags kept aside).
 * Rounds alternate which of the two goes first, so neither always pays for the other's
 * garbage; a warm-up round is not counted; the medians are compared.
 */
import { basicHeader } from '../lib/http/basic-auth';
import http from 'node:http';
import { C4CClient, STANDARD_SERVICE_PATH } from '../lib/c4c';
import { DEMO_C4C } from '../sandbox/demo-accounts';
import { startSandbox } from '../sandbox/index';
import type { BenchSuite } from './run';

const ENTITIES = 10_000;
const PAGE = 1_000;
const ROUNDS = 9;

function rawGet(agent: http.Agent, url: string, auth: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { Authorization: auth, Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export const c4cSuite: BenchSuite = {
  name: 'c4c',
  async run(): Promise<string> {
    const sandbox = await startSandbox({ c4c: { pageSize: PAGE } });
    const client = new C4CClient({
      baseUrl: `${sandbox.baseUrl}/c4c`,
      servicePath: STANDARD_SERVICE_PATH,
      auth: { type: 'basic', user: DEMO_C4C.user, password: DEMO_C4C.password },
    });
    try {
      // Round trips per create, after the first write has fetched the CSRF token.
      await client.create('IndividualCustomerCollection', { LastName: 'warm-up', RoleCode: 'CRM000' });
      const creates = 300;
      const before = client.http.roundTrips;
      for (let i = 0; i < creates; i++) await client.create('IndividualCustomerCollection', { LastName: `B${i}`, RoleCode: 'CRM000' });
      const perCreate = (client.http.roundTrips - before) / creates;

      sandbox.c4c.reset();
      sandbox.c4c.seedCustomers(ENTITIES);
      const auth = basicHeader(DEMO_C4C.user, DEMO_C4C.password);
      const agent = new http.Agent({ keepAlive: true });
      const base = `${client.root}IndividualCustomerCollection?$format=json`;
      const rawRates: number[] = [];
      const clientRates: number[] = [];
      const raw = async (): Promise<number> => {
        const t = process.hrtime.bigint();
        const entities: unknown[] = [];
        let url: string | undefined = base;
        while (url) {
          const page = JSON.parse(await rawGet(agent, url, auth)) as { d: { results: unknown[]; __next?: string } };
          for (const e of page.d.results) entities.push(e);
          url = page.d.__next;
        }
        if (entities.length !== ENTITIES) throw new Error(`raw: expected ${ENTITIES} entities, got ${entities.length}`);
        return entities.length / (Number(process.hrtime.bigint() - t) / 1e9);
      };
      const unwrapped = async (): Promise<number> => {
        const t = process.hrtime.bigint();
        const res = await client.query('IndividualCustomerCollection', { allPages: true, maxPages: 20 });
        const rate = res.results.length / (Number(process.hrtime.bigint() - t) / 1e9);
        if (res.results.length !== ENTITIES || res.pages !== ENTITIES / PAGE) throw new Error(`expected ${ENTITIES} entities in 10 pages, got ${res.results.length} in ${res.pages}`);
        return rate;
      };
      await raw();
      await unwrapped();
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          rawRates.push(await raw());
          clientRates.push(await unwrapped());
        } else {
          clientRates.push(await unwrapped());
          rawRates.push(await raw());
        }
      }
      agent.destroy();
      const rawRate = median(rawRates);
      const clientRate = median(clientRates);
      // Both figures of a round saw the same machine state, so their ratio shows the spread.
      const ratios = clientRates.map((rate, i) => rate / rawRates[i]);
      return [
        `| figure | value | goal |`,
        `|---|---|---|`,
        `| round trips per create (steady state) | ${perCreate.toFixed(2)} | 1.0 |`,
        `| query, raw HTTP fetch of 10 pages (entities/s) | ${Math.round(rawRate)} | baseline |`,
        `| query, c4c client unwrapped (entities/s) | ${Math.round(clientRate)} | |`,
        `| ratio client / raw (medians) | ${(clientRate / rawRate).toFixed(2)} | ≥ 0.8 |`,
        `| ratio per round, lowest–highest | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | |`,
      ].join('\n');
    } finally {
      client.close();
      await sandbox.close();
    }
  },
};
