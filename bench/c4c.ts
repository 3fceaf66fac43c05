/**
 * C4C client figures against the sandbox tenant: HTTP round trips per create in steady
 * state (the CSRF token is held, so the goal is 1.0), and query throughput in entities/s
 * for 10,000 entities over 10 pages, unwrapped by the client, against a raw keep-alive
 * GET + JSON.parse of the same 10 pages measured in the same run.
 */
import http from 'node:http';
import { C4CClient, STANDARD_SERVICE_PATH } from '../lib/c4c';
import { DEMO_C4C } from '../sandbox/demo-accounts';
import { startSandbox } from '../sandbox/index';
import type { BenchSuite } from './run';

const ENTITIES = 10_000;
const PAGE = 1_000;
const ROUNDS = 7;

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
      const auth = 'Basic ' + Buffer.from(`${DEMO_C4C.user}:${DEMO_C4C.password}`).toString('base64');
      const agent = new http.Agent({ keepAlive: true });
      const base = `${client.root}IndividualCustomerCollection?$format=json`;
      const rawRates: number[] = [];
      const clientRates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        let t = process.hrtime.bigint();
        let url: string | undefined = base as string | undefined;
        let raw = 0;
        while (url) {
          // The baseline is what any consumer does at least: fetch and JSON.parse each page.
          const page: { d: { results: unknown[]; __next?: string } } = JSON.parse(await rawGet(agent, url, auth));
          const d = page.d;
          raw += d.results.length;
          url = d.__next;
        }
        rawRates.push(raw / (Number(process.hrtime.bigint() - t) / 1e9));
        t = process.hrtime.bigint();
        const res = await client.query('IndividualCustomerCollection', { allPages: true, maxPages: 20 });
        clientRates.push(res.results.length / (Number(process.hrtime.bigint() - t) / 1e9));
        if (res.results.length !== ENTITIES || res.pages !== ENTITIES / PAGE) throw new Error(`expected ${ENTITIES} entities in 10 pages, got ${res.results.length} in ${res.pages}`);
      }
      agent.destroy();
      const rawRate = median(rawRates);
      const clientRate = median(clientRates);
      return [
        `| figure | value | goal |`,
        `|---|---|---|`,
        `| round trips per create (steady state) | ${perCreate.toFixed(2)} | 1.0 |`,
        `| query, raw HTTP fetch of 10 pages (entities/s) | ${Math.round(rawRate)} | baseline |`,
        `| query, c4c client unwrapped (entities/s) | ${Math.round(clientRate)} | |`,
        `| ratio client / raw | ${(clientRate / rawRate).toFixed(2)} | ≥ 0.8 |`,
      ].join('\n');
    } finally {
      client.close();
      await sandbox.close();
    }
  },
};
