import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileFilter } from '../../sandbox/c4c';
import { DEMO_C4C } from '../../sandbox/demo-accounts';
import { startSandbox, Sandbox } from '../../sandbox/index';

const basic = 'Basic ' + Buffer.from(`${DEMO_C4C.user}:${DEMO_C4C.password}`).toString('base64');
const ROOT = '/c4c/sap/c4c/odata/v1/c4codataapi/';

describe('sandbox C4C stand-in', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ c4c: { pageSize: 4 } });
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.c4c.reset());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(sandbox.baseUrl + path, { headers: { Authorization: basic, ...headers } });

  it('implements the C4C $filter subset and refuses the rest', () => {
    const rows = [
      { A: 'abc', B: 1 },
      { A: 'xbc', B: 5 },
      { A: 'abd', B: 9 },
    ];
    const run = (f: string) => rows.filter(compileFilter(f)).map((r) => r.A);
    assert.deepEqual(run("A eq 'abc' or A eq 'abd'"), ['abc', 'abd']);
    assert.deepEqual(run("startswith(A,'ab') and B gt 1"), ['abd']);
    assert.deepEqual(run("endswith(A,'bc')"), ['abc', 'xbc']);
    assert.deepEqual(run("A eq 'a*'"), ['abc', 'abd']);
    assert.deepEqual(run('B ge 5 and B le 9 and B ne 9'), ['xbc']);
    assert.deepEqual(run("(A eq 'abc' or A eq 'xbc') and B lt 5"), ['abc']);
    assert.throws(() => compileFilter("A eq 'x' or B eq 1"), /same property/);
    assert.throws(() => compileFilter("substringof('a',A)"), /not supported/);
  });

  it('answers an unsupported $filter over HTTP with a 400 in the SAP error shape', async () => {
    sandbox.c4c.seedCustomers(2);
    const q = (filter: string) => get(ROOT + 'IndividualCustomerCollection?$format=json&$filter=' + encodeURIComponent(filter));
    const ok = (await (await q("LastName eq 'Customer 0' or LastName eq 'Customer 1'")).json()) as { d: { results: object[] } };
    assert.equal(ok.d.results.length, 2);
    const refused = await q("LastName eq 'Customer 0' or FirstName eq 'Seed1'");
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { code: string; message: { value: string } } };
    assert.equal(body.error.code, 'SY/530');
    assert.match(body.error.message.value, /same property/);
  });

  it('requires Basic auth and answers SAP-style errors', async () => {
    const res = await fetch(sandbox.baseUrl + ROOT + 'IndividualCustomerCollection');
    assert.equal(res.status, 401);
    const bad = await get(ROOT + 'NoSuchCollection');
    assert.equal(bad.status, 404);
    const body = (await bad.json()) as { error: { code: string; message: { value: string } } };
    assert.equal(body.error.code, 'SY/530');
    assert.match(body.error.message.value, /Resource not found/);
  });

  it('pages with __next and counts as a string', async () => {
    sandbox.c4c.seedCustomers(10);
    const res = await get(ROOT + 'IndividualCustomerCollection?$inlinecount=allpages&$select=ObjectID&$format=json');
    const body = (await res.json()) as { d: { results: object[]; __count: string; __next: string } };
    assert.equal(body.d.results.length, 4);
    assert.equal(body.d.__count, '10');
    assert.match(body.d.__next, /\$skiptoken=4/);
    const last = (await (await get(new URL(body.d.__next).pathname + '?' + new URL(body.d.__next).searchParams.toString().replace('skiptoken=4', 'skiptoken=8'))).json()) as {
      d: { results: object[]; __next?: string };
    };
    assert.equal(last.d.results.length, 2);
    assert.equal(last.d.__next, undefined);
  });

  it('ties CSRF tokens to cookies with rotating names', async () => {
    const fetchToken = async () => {
      const res = await get(ROOT, { 'x-csrf-token': 'fetch' });
      return { token: res.headers.get('x-csrf-token') ?? '', cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
    };
    const a = await fetchToken();
    const b = await fetchToken();
    assert.notEqual(a.cookie.split('=')[0], b.cookie.split('=')[0]);
    const post = (token: string, cookie: string) =>
      fetch(sandbox.baseUrl + ROOT + 'IndividualCustomerCollection', {
        method: 'POST',
        headers: { Authorization: basic, 'x-csrf-token': token, Cookie: cookie, 'Content-Type': 'application/json' },
        body: JSON.stringify({ LastName: 'X', RoleCode: 'CRM000' }),
      });
    const noCookie = await post(a.token, '');
    assert.equal(noCookie.status, 403);
    assert.equal(noCookie.headers.get('x-csrf-token'), 'Required');
    assert.equal((await post(a.token, a.cookie)).status, 201);
  });

  it('posts a notification with Basic auth to the consumer when a customer changes', async () => {
    const received: Array<{ auth?: string; body: Record<string, string> }> = [];
    const consumer: Server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        received.push({ auth: req.headers.authorization, body: JSON.parse(data) });
        res.statusCode = 202;
        res.end();
      });
    });
    await new Promise<void>((r) => consumer.listen(0, '127.0.0.1', r));
    try {
      sandbox.c4c.setConsumer({ url: `http://127.0.0.1:${(consumer.address() as AddressInfo).port}/hook`, user: 'n', password: 'p' });
      const c = sandbox.c4c.createCustomer({ LastName: 'Notify', RoleCode: 'CRM000' });
      sandbox.c4c.changeCustomer(String(c.ObjectID), { FirstName: 'Changed' });
      await sandbox.c4c.flush();
      assert.equal(received.length, 1, 'only Update is subscribed by default');
      assert.equal(received[0].auth, 'Basic ' + Buffer.from('n:p').toString('base64'));
      assert.equal(received[0].body.businessObjectId, c.ObjectID);
      assert.equal(received[0].body.event, 'Update');
      assert.equal(received[0].body.odataServiceEndpoint, `${sandbox.baseUrl}${ROOT}IndividualCustomerCollection('${c.ObjectID}')`);
      assert.equal(sandbox.c4c.deliveries[0].status, 202);
    } finally {
      sandbox.c4c.setConsumer(null);
      consumer.closeAllConnections();
      await new Promise<void>((r) => consumer.close(() => r()));
    }
  });

  it('can be driven over HTTP by the demo', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Demo', RoleCode: 'CRM000' });
    const res = await fetch(`${sandbox.baseUrl}/c4c/_sandbox/customers/${c.ObjectID}`, { method: 'POST', body: JSON.stringify({ FirstName: 'Via HTTP' }) });
    assert.equal(res.status, 200);
    assert.equal(sandbox.c4c.getCustomer(String(c.ObjectID))?.FirstName, 'Via HTTP');
    const unknown = await fetch(`${sandbox.baseUrl}/c4c/_sandbox/customers/NOPE`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
  });
});
