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

  const get = (path: string, headers: Record<string, string> = {}) => fetch(sandbox.baseUrl + path, { headers: { Authorization: basic, Accept: 'application/json', ...headers } });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: { lang: string; value: string } } }).error;
  const fetchToken = async (method = 'GET', value = 'fetch') => {
    const res = await fetch(sandbox.baseUrl + ROOT, { method, headers: { Authorization: basic, Accept: 'application/json', 'x-csrf-token': value } });
    return { res, token: res.headers.get('x-csrf-token') ?? '', cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
  };
  const send = (method: string, path: string, csrf: { token: string; cookie: string }, body?: string, headers: Record<string, string> = {}) =>
    fetch(sandbox.baseUrl + path, {
      method,
      headers: { Authorization: basic, Accept: 'application/json', 'Content-Type': 'application/json', 'x-csrf-token': csrf.token, Cookie: csrf.cookie, ...headers },
      body,
    });

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
    const a = await fetchToken();
    const b = await fetchToken();
    assert.notEqual(a.cookie.split('=')[0], b.cookie.split('=')[0]);
    const post = (token: string, cookie: string) =>
      fetch(sandbox.baseUrl + ROOT + 'IndividualCustomerCollection', {
        method: 'POST',
        headers: { Authorization: basic, Accept: 'application/json', 'x-csrf-token': token, Cookie: cookie, 'Content-Type': 'application/json' },
        body: JSON.stringify({ LastName: 'X', RoleCode: 'CRM000' }),
      });
    const noCookie = await post(a.token, '');
    assert.equal(noCookie.status, 403);
    assert.equal(noCookie.headers.get('x-csrf-token'), 'Required');
    assert.equal((await post(a.token, a.cookie)).status, 201);
  });

  it('issues a CSRF token for "fetch" in any letter case, on GET and on HEAD', async () => {
    for (const [method, value] of [
      ['GET', 'Fetch'],
      ['HEAD', 'Fetch'],
      ['HEAD', 'FETCH'],
    ]) {
      const csrf = await fetchToken(method, value);
      assert.equal(csrf.res.status, 200, `${method} ${value}`);
      assert.match(csrf.token, /^[A-Za-z0-9+/]{20,}={0,2}$/, `${method} ${value} brings a token`);
      assert.equal((await send('POST', ROOT + 'IndividualCustomerCollection', csrf, JSON.stringify({ LastName: value, RoleCode: 'CRM000' }))).status, 201);
    }
    assert.equal(sandbox.c4c.stats.csrfFetches, 3);
    // Asking for a token is no token: a write that sends "Fetch" is refused.
    const refused = await send('POST', ROOT + 'IndividualCustomerCollection', { token: 'Fetch', cookie: '' }, JSON.stringify({ LastName: 'X', RoleCode: 'CRM000' }));
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('x-csrf-token'), 'Required');
  });

  it('answers HEAD with the headers of the GET and no body', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Head', RoleCode: 'CRM000' });
    for (const path of [`IndividualCustomerCollection('${c.ObjectID}')`, 'IndividualCustomerCollection?$format=json', 'IndividualCustomerCollection/$count', 'NoSuchCollection']) {
      const got = await get(ROOT + path);
      const gotBody = await got.arrayBuffer();
      const head = await fetch(sandbox.baseUrl + ROOT + path, { method: 'HEAD', headers: { Authorization: basic, Accept: 'application/json' } });
      assert.equal(head.status, got.status, path);
      for (const name of ['content-type', 'content-length', 'etag']) assert.equal(head.headers.get(name), got.headers.get(name), `${name} of ${path}`);
      assert.equal(Number(head.headers.get('content-length')), gotBody.byteLength);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    }
  });

  it('reads an entity by a positional or a named key, and refuses other key predicates', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Keyed', RoleCode: 'CRM000' });
    for (const key of [`('${c.ObjectID}')`, `(ObjectID='${c.ObjectID}')`, `(ObjectID=%27${c.ObjectID}%27)`]) {
      const res = await get(`${ROOT}IndividualCustomerCollection${key}?$format=json`);
      assert.equal(res.status, 200, key);
      assert.equal(((await res.json()) as { d: { LastName: string } }).d.LastName, 'Keyed');
    }
    for (const key of [`(CustomerID='${c.CustomerID}')`, '(1000400)', "('a','b')"]) {
      const res = await get(`${ROOT}IndividualCustomerCollection${key}`);
      assert.equal(res.status, 400, key);
      assert.match((await errorOf(res)).message.value, /Invalid key predicate/);
    }
    assert.equal((await get(`${ROOT}IndividualCustomerCollection('NOPE')`)).status, 404);
  });

  it('counts a collection with /$count in plain text, after $filter', async () => {
    sandbox.c4c.seedCustomers(7);
    const count = async (query: string) => {
      const res = await get(ROOT + 'IndividualCustomerCollection/$count' + query);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    assert.equal(await count(''), '7');
    assert.equal(await count('?$filter=' + encodeURIComponent("startswith(LastName,'Customer 1') or LastName eq 'Customer 2'")), '2');
    // $top and $skip shape the page, not the count.
    assert.equal(await count('?$top=2&$skip=1'), '7');
    assert.equal((await get(ROOT + 'IndividualCustomerCollection/$count?$filter=' + encodeURIComponent("tolower(LastName) eq 'x'"))).status, 400);
  });

  it('writes ETags as C4C does and checks If-Match against that form', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Tagged', RoleCode: 'CRM000' });
    const read = await get(`${ROOT}IndividualCustomerCollection('${c.ObjectID}')`);
    const etag = read.headers.get('etag') ?? '';
    assert.match(etag, /^W\/"datetimeoffset'\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d\.\d{7}Z'"$/);
    assert.equal(((await read.json()) as { d: { __metadata: { etag: string } } }).d.__metadata.etag, etag);
    const list = (await (await get(`${ROOT}IndividualCustomerCollection?$format=json`)).json()) as { d: { results: Array<{ __metadata: { etag: string } }> } };
    assert.equal(list.d.results[0].__metadata.etag, etag);

    const csrf = await fetchToken();
    const patch = (ifMatch: string) => send('PATCH', `${ROOT}IndividualCustomerCollection('${c.ObjectID}')`, csrf, JSON.stringify({ FirstName: 'Once' }), { 'If-Match': ifMatch });
    // The same instant with its colons decoded, or without W/, is another ETag.
    assert.equal((await patch(etag.replace(/%3A/g, ':'))).status, 412);
    assert.equal((await patch(etag.slice(2))).status, 412);
    const done = await patch(etag);
    assert.equal(done.status, 204);
    assert.notEqual(done.headers.get('etag'), etag);
    assert.equal((await patch(etag)).status, 412, 'the old ETag is stale now');
  });

  it('runs $batch parts written relative to the service root or with an absolute path', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Batched', RoleCode: 'CRM000' });
    const csrf = await fetchToken();
    const readPart = (target: string) => `--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET ${target} HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n`;
    const body =
      readPart(`IndividualCustomerCollection('${c.ObjectID}')`) +
      readPart(`/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection(ObjectID='${c.ObjectID}')`) +
      readPart(`${ROOT}IndividualCustomerCollection/$count`) +
      readPart('/sap/c4c/odata/cust/v1/zindividualcustomer/CustomerCommonCollection') +
      '--b--\r\n';
    const res = await send('POST', ROOT + '$batch', csrf, body, { 'Content-Type': 'multipart/mixed; boundary=b', Accept: 'multipart/mixed' });
    assert.equal(res.status, 202);
    const text = await res.text();
    assert.deepEqual(
      [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]),
      ['200', '200', '200', '400'],
    );
    assert.equal((text.match(/"LastName":"Batched"/g) ?? []).length, 2);
    assert.match(text, /\r\n\r\n1\r\n/, 'the $count part answers 1');
    assert.match(text, /is not in the service/);
  });

  it('refuses what it does not model with a 501 in the SAP error shape, and unknown options with a 400', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Plain', RoleCode: 'CRM000' });
    const cases: Array<[string, Record<string, string>, number]> = [
      ['IndividualCustomerCollection?$format=json&$expand=IndividualCustomerAddress', {}, 501],
      ["IndividualCustomerCollection?$format=json&$search='Plain'", {}, 501],
      ['$metadata', {}, 501],
      [`IndividualCustomerCollection('${c.ObjectID}')/IndividualCustomerAddress`, {}, 501],
      [`IndividualCustomerCollection('${c.ObjectID}')/LastName/$value`, {}, 501],
      ['IndividualCustomerCollection', { Accept: 'application/atom+xml' }, 501],
      ['IndividualCustomerCollection?$format=xml', {}, 501],
      ['IndividualCustomerCollection?$format=json&$count=true', {}, 400],
      ['IndividualCustomerCollection?$format=json&$inlinecount=some', {}, 400],
    ];
    for (const [path, headers, status] of cases) {
      const res = await get(ROOT + path, headers);
      assert.equal(res.status, status, path);
      const error = await errorOf(res);
      assert.equal(error.message.lang, 'en');
      assert.ok(error.code && error.message.value, path);
    }
    const csrf = await fetchToken();
    const tunnelled = await send('POST', `${ROOT}IndividualCustomerCollection('${c.ObjectID}')`, csrf, '{"FirstName":"T"}', { 'X-HTTP-Method': 'MERGE' });
    assert.equal(tunnelled.status, 501);
    const onCollection = await send('PATCH', `${ROOT}IndividualCustomerCollection`, csrf, '{"FirstName":"T"}');
    assert.equal(onCollection.status, 405);
    assert.equal(sandbox.c4c.getCustomer(String(c.ObjectID))?.FirstName, undefined, 'nothing was changed');
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
