import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { C4CClient, C4CClientOptions, C4CError, customServicePath, STANDARD_SERVICE_PATH } from '../../../lib/c4c';
import { DEMO_C4C } from '../../../sandbox/demo-accounts';
import { startSandbox, Sandbox } from '../../../sandbox/index';

describe('lib/c4c client against the sandbox', () => {
  let sandbox: Sandbox;
  let client: C4CClient;
  const make = (extra: Partial<C4CClientOptions> = {}) => {
    const c = new C4CClient({
      baseUrl: `${sandbox.baseUrl}/c4c`,
      servicePath: STANDARD_SERVICE_PATH,
      auth: { type: 'basic', user: DEMO_C4C.user, password: DEMO_C4C.password },
      retryBaseMs: 1,
      ...extra,
    });
    c.sleep = () => Promise.resolve();
    return c;
  };

  before(async () => {
    sandbox = await startSandbox({ c4c: { pageSize: 10 } });
  });
  after(() => sandbox.close());
  beforeEach(() => {
    sandbox.c4c.reset();
    client = make();
  });
  afterEach(() => client.close());

  it('creates with one CSRF fetch, then one round trip per write', async () => {
    const first = await client.create('IndividualCustomerCollection', { FirstName: 'Li', LastName: 'Lei', RoleCode: 'CRM000' });
    assert.equal(first.status, 201);
    assert.equal(first.entity?.LastName, 'Lei');
    assert.match(String(first.entity?.CreationOn), /^\d{4}-\d\d-\d\dT/);
    assert.match(first.etag ?? '', /^W\/"datetimeoffset'/);
    assert.equal(sandbox.c4c.stats.csrfFetches, 1);
    const before = client.http.roundTrips;
    for (let i = 0; i < 5; i++) await client.create('IndividualCustomerCollection', { LastName: `N${i}`, RoleCode: 'CRM000' });
    assert.equal(client.http.roundTrips - before, 5);
    assert.equal(sandbox.c4c.stats.csrfFetches, 1);
  });

  it('shares one CSRF fetch between concurrent first writes', async () => {
    await Promise.all([1, 2, 3].map((i) => client.create('IndividualCustomerCollection', { LastName: `C${i}`, RoleCode: 'CRM000' })));
    assert.equal(sandbox.c4c.stats.csrfFetches, 1);
  });

  it('refetches the CSRF token once and retries the write once after a 403', async () => {
    await client.create('IndividualCustomerCollection', { LastName: 'A', RoleCode: 'CRM000' });
    sandbox.c4c.expireCsrfTokens();
    const res = await client.create('IndividualCustomerCollection', { LastName: 'B', RoleCode: 'CRM000' });
    assert.equal(res.status, 201);
    assert.equal(sandbox.c4c.stats.csrfFetches, 2);
    assert.equal(sandbox.c4c.stats.csrfRejections, 1);
    assert.equal(sandbox.c4c.customers().length, 2);
  });

  it('reports a conflict on a stale ETag and succeeds with the current one', async () => {
    const { entity, etag } = await client.create('IndividualCustomerCollection', { LastName: 'E', RoleCode: 'CRM000' });
    const id = String(entity?.ObjectID);
    const updated = await client.update('IndividualCustomerCollection', id, { FirstName: 'New' }, { etag });
    assert.equal(updated.status, 204);
    assert.notEqual(updated.etag, etag);
    await assert.rejects(client.update('IndividualCustomerCollection', id, { FirstName: 'Again' }, { etag }), (err: C4CError) => {
      assert.equal(err.kind, 'conflict');
      assert.equal(err.status, 412);
      return true;
    });
    const read = await client.read('IndividualCustomerCollection', id);
    assert.equal(read.entity?.FirstName, 'New');
    assert.equal(read.etag, updated.etag);
    await client.remove('IndividualCustomerCollection', id, { etag: read.etag });
    assert.equal(sandbox.c4c.customers().length, 0);
  });

  it('reads, updates and deletes by a named key built from an object key', async () => {
    const { entity } = await client.create('IndividualCustomerCollection', { LastName: 'Named', RoleCode: 'CRM000' });
    const key = { ObjectID: String(entity?.ObjectID) };
    const read = await client.read('IndividualCustomerCollection', key, { select: 'ObjectID,LastName' });
    assert.deepEqual(read.entity, { ObjectID: key.ObjectID, LastName: 'Named' });
    const updated = await client.update('IndividualCustomerCollection', key, { FirstName: 'By key' }, { etag: read.etag });
    assert.equal(updated.status, 204);
    assert.equal(sandbox.c4c.getCustomer(key.ObjectID)?.FirstName, 'By key');
    await client.remove('IndividualCustomerCollection', key, { etag: updated.etag });
    assert.equal(sandbox.c4c.customers().length, 0);
  });

  it('normalises SAP error bodies for bad writes and does not retry them', async () => {
    sandbox.c4c.injectFault(503, 1, 'POST');
    await assert.rejects(client.create('IndividualCustomerCollection', { LastName: 'warm', RoleCode: 'CRM000' }), (err: C4CError) => err.status === 503);
    assert.equal(sandbox.c4c.customers().length, 0, 'a 503 on a write is not retried');
    // The server may have acted before the connection broke, so a reset is not retried either.
    sandbox.c4c.injectFault('reset', 1, 'POST');
    const before = client.http.roundTrips;
    await assert.rejects(client.create('IndividualCustomerCollection', { LastName: 'reset', RoleCode: 'CRM000' }), (err: C4CError) => err.kind === 'network');
    assert.equal(client.http.roundTrips - before, 1);
    assert.equal(sandbox.c4c.customers().length, 0, 'a reset write is not retried');
    await assert.rejects(client.create('IndividualCustomerCollection', { FirstName: 'NoLast', RoleCode: 'CRM000' }), (err: C4CError) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'CX_SADL_ENTITY_SRV_MANDATORY');
      assert.match(err.message, /Mandatory field LastName/);
      return true;
    });
  });

  it('retries reads on 503 and connection resets, then gives up with the status', async () => {
    sandbox.c4c.seedCustomers(3);
    sandbox.c4c.injectFault(503, 1, 'GET');
    sandbox.c4c.injectFault('reset', 1, 'GET');
    const res = await client.query('IndividualCustomerCollection', {});
    assert.equal(res.results.length, 3);
    sandbox.c4c.injectFault(502, 10, 'GET');
    await assert.rejects(client.query('IndividualCustomerCollection', {}), (err: C4CError) => err.status === 502);
  });

  it('queries with filter, select, inlinecount, and follows __next up to a page cap', async () => {
    sandbox.c4c.seedCustomers(25);
    const one = await client.query('IndividualCustomerCollection', { filter: "LastName eq 'Customer 7'", select: 'ObjectID,LastName', inlinecount: true });
    assert.deepEqual(Object.keys(one.results[0]).sort(), ['LastName', 'ObjectID']);
    assert.equal(one.count, 1);
    const firstPage = await client.query('IndividualCustomerCollection', { inlinecount: true });
    assert.equal(firstPage.results.length, 10);
    assert.equal(firstPage.count, 25);
    assert.ok(firstPage.next);
    const all = await client.query('IndividualCustomerCollection', { allPages: true });
    assert.equal(all.results.length, 25);
    assert.equal(all.pages, 3);
    assert.equal(all.next, undefined);
    const capped = await client.query('IndividualCustomerCollection', { allPages: true, maxPages: 2 });
    assert.equal(capped.results.length, 20);
    assert.ok(capped.next);
    const window = await client.query('IndividualCustomerCollection', { top: 5, skip: 20, orderby: 'LastName desc' });
    const names = window.results.map((e) => String(e.LastName));
    assert.equal(names.length, 5);
    // The last five of 25 names sorted descending as strings.
    assert.deepEqual(names, ['Customer 12', 'Customer 11', 'Customer 10', 'Customer 1', 'Customer 0']);
  });

  it('follows __next links that name the tenant by another host, on the configured host', async () => {
    sandbox.c4c.seedCustomers(25);
    const configured = sandbox.c4c.tenantUrl;
    // The tenant knows itself as localhost; the client is configured with 127.0.0.1.
    sandbox.c4c.tenantUrl = configured.replace('//127.0.0.1:', '//localhost:');
    try {
      const first = await client.query('IndividualCustomerCollection');
      assert.match(first.next ?? '', /^http:\/\/localhost:\d+\/c4c\//);
      const all = await client.query('IndividualCustomerCollection', { allPages: true });
      assert.equal(all.results.length, 25);
      assert.equal(all.pages, 3);
    } finally {
      sandbox.c4c.tenantUrl = configured;
    }
  });

  it('reads through a custom service and a notification endpoint', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'W', RoleCode: 'CRM000', WechatID: 'oOPENID1' });
    const custom = make({ servicePath: customServicePath('zindividualcustomer') });
    try {
      const res = await custom.query('CustomerCommonCollection', { filter: `ParentObjectID eq '${c.ObjectID}'` });
      assert.equal(res.results[0].WechatID, 'oOPENID1');
    } finally {
      custom.close();
    }
    const read = await client.readUrl(`${sandbox.baseUrl}/c4c${STANDARD_SERVICE_PATH}IndividualCustomerCollection('${c.ObjectID}')`);
    assert.equal(read.entity?.LastName, 'W');
    await assert.rejects(client.readUrl('http://evil.example/x'), /not the C4C tenant/);
  });

  it('runs $batch with a GET and a change set, rolling back a failed change set', async () => {
    const a = sandbox.c4c.createCustomer({ LastName: 'A', RoleCode: 'CRM000' });
    const out = await client.batch([
      { method: 'GET', path: `IndividualCustomerCollection?$filter=LastName eq 'A'` },
      { changeset: [{ method: 'PATCH', path: `IndividualCustomerCollection('${a.ObjectID}')`, body: { FirstName: 'Batched' } }, { method: 'POST', path: 'IndividualCustomerCollection', body: { LastName: 'B', RoleCode: 'CRM000' } }] },
      { changeset: [{ method: 'POST', path: 'IndividualCustomerCollection', body: { LastName: 'C', RoleCode: 'CRM000' } }, { method: 'POST', path: 'IndividualCustomerCollection', body: { RoleCode: 'CRM000' } }] },
    ]);
    assert.equal(out.length, 3);
    const get = out[0] as { ok: boolean; value: unknown[] };
    assert.equal(get.ok, true);
    assert.equal(get.value.length, 1);
    const cs = out[1] as Array<{ status: number }>;
    assert.deepEqual(cs.map((r) => r.status), [204, 201]);
    const failed = out[2] as Array<{ ok: boolean; error?: { status: number } }>;
    assert.equal(failed[0].ok, false);
    assert.equal(failed[0].error?.status, 400);
    assert.deepEqual(sandbox.c4c.customers().map((c) => c.LastName).sort(), ['A', 'B']);
    assert.equal(sandbox.c4c.getCustomer(String(a.ObjectID))?.FirstName, 'Batched');
  });

  it('never puts credentials into errors', async () => {
    const bad = make({ auth: { type: 'basic', user: DEMO_C4C.user, password: 'wrong-secret-123' } });
    try {
      await assert.rejects(bad.query('IndividualCustomerCollection'), (err: C4CError) => {
        assert.equal(err.status, 401);
        assert.equal(err.kind, 'auth');
        assert.doesNotMatch(JSON.stringify(err.toJSON()) + err.message + err.stack, /wrong-secret|Basic /);
        return true;
      });
    } finally {
      bad.close();
    }
  });

  it('gets a token with the SAML bearer grant, caches it and renews it after a 401', async () => {
    const saml = make({
      auth: { type: 'saml-bearer', tokenUrl: `${sandbox.baseUrl}/c4c/sap/bc/sec/oauth2/token`, clientId: DEMO_C4C.oauthClientId, scope: 'UIWC:CC_HOME', assertion: DEMO_C4C.samlAssertion },
    });
    try {
      await saml.create('IndividualCustomerCollection', { LastName: 'O', RoleCode: 'CRM000' });
      await saml.query('IndividualCustomerCollection');
      assert.equal(sandbox.c4c.stats.tokenRequests, 1);
      sandbox.c4c.expireBearerTokens();
      const res = await saml.query('IndividualCustomerCollection');
      assert.equal(res.results.length, 1);
      assert.equal(sandbox.c4c.stats.tokenRequests, 2);
      await assert.rejects(saml.query('IndividualCustomerCollection', {}, { assertion: 'forged' }), (err: C4CError) => {
        assert.equal(err.kind, 'auth');
        assert.match(err.message, /invalid_grant/);
        assert.doesNotMatch(err.message, /forged/);
        return true;
      });
    } finally {
      saml.close();
    }
  });

  it('sends a fixed bearer token from the credentials', async () => {
    // The stand-in accepts only tokens its token endpoint issued, so get one first.
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer', client_id: DEMO_C4C.oauthClientId, assertion: DEMO_C4C.samlAssertion });
    const res = await fetch(`${sandbox.baseUrl}/c4c/sap/bc/sec/oauth2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const { access_token: token } = (await res.json()) as { access_token: string };
    const fixed = make({ auth: { type: 'bearer', token } });
    const perMsg = make({ auth: { type: 'bearer-msg' } });
    try {
      const created = await fixed.create('IndividualCustomerCollection', { LastName: 'Bearer', RoleCode: 'CRM000' });
      assert.equal(created.status, 201);
      assert.equal((await perMsg.query('IndividualCustomerCollection', {}, { bearerToken: token })).results.length, 1);
      assert.equal(sandbox.c4c.stats.tokenRequests, 1, 'a fixed token is never renewed by the client');
    } finally {
      fixed.close();
      perMsg.close();
    }
  });

  it('takes a bearer token per call and refuses calls without one', async () => {
    const perMsg = make({ auth: { type: 'bearer-msg' } });
    try {
      await assert.rejects(perMsg.query('IndividualCustomerCollection'), /msg.accessToken/);
    } finally {
      perMsg.close();
    }
  });

  it('limits requests in flight and times out slow servers', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow: Server = createServer((req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.setHeader('Content-Type', 'application/json');
        res.end(req.url?.includes('Hang') ? undefined : '{"d":{"results":[]}}');
      }, req.url?.includes('Hang') ? 2000 : 20);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const limited = new C4CClient({ baseUrl: base, servicePath: '/s/', auth: { type: 'bearer', token: 't' }, maxConcurrent: 2, timeoutMs: 300, retries: 0 });
    try {
      await Promise.all([1, 2, 3, 4, 5].map(() => limited.query('X')));
      assert.equal(peak, 2);
      await assert.rejects(limited.query('Hang'), (err: C4CError) => err.kind === 'timeout');
    } finally {
      limited.close();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  describe('against a scripted server', () => {
    type Handler = (req: IncomingMessage, res: ServerResponse) => void;
    let server: Server;
    let base: string;
    let handler: Handler;
    let connections = 0;
    const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> = [];

    before(async () => {
      server = createServer((req, res) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
        req.resume();
        req.on('end', () => handler(req, res));
      });
      server.on('connection', () => connections++);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    beforeEach(() => {
      seen.length = 0;
      connections = 0;
    });

    const scripted = (extra: Partial<C4CClientOptions> = {}) => {
      const c = new C4CClient({ baseUrl: base, servicePath: STANDARD_SERVICE_PATH, auth: { type: 'basic', user: 'u', password: 'p' }, retryBaseMs: 1, ...extra });
      c.sleep = () => Promise.resolve();
      return c;
    };
    const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(body);
    };

    it('gives up with a csrf error when a fresh token is refused too: two fetches, two tries', async () => {
      handler = (req, res) => {
        if (req.method === 'GET') return reply(res, 200, '{"d":{"EntitySets":[]}}', { 'x-csrf-token': `T${seen.length}`, 'Set-Cookie': `sap-XSRF_A${seen.length}=v; path=/` });
        reply(res, 403, 'CSRF token validation failed', { 'x-csrf-token': 'Required', 'Content-Type': 'text/plain' });
      };
      const c = scripted();
      try {
        await assert.rejects(c.create('IndividualCustomerCollection', { LastName: 'X' }), (err: C4CError) => {
          assert.equal(err.kind, 'csrf');
          assert.equal(err.status, 403);
          return true;
        });
        assert.deepEqual(
          seen.map((r) => r.method),
          ['GET', 'POST', 'GET', 'POST'],
        );
        // The retry carries the fresh token and the cookie it came with.
        assert.equal(seen[3].headers['x-csrf-token'], 'T3');
        assert.match(String(seen[3].headers.cookie), /sap-XSRF_A3=v/);
        assert.equal(c.hasCsrfToken, false, 'a refused token is not kept');
      } finally {
        c.close();
      }
    });

    it('retries a read after 504, then reports the code and message of an XML error body', async () => {
      let calls = 0;
      handler = (_req, res) => {
        calls++;
        if (calls === 1) return reply(res, 504, '<html><body>Gateway Timeout</body></html>', { 'Content-Type': 'text/html' });
        reply(
          res,
          400,
          '<?xml version="1.0" encoding="utf-8"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>SY/530</code><message xml:lang="en">Property Foo is invalid</message></error>',
          { 'Content-Type': 'application/xml' },
        );
      };
      const c = scripted();
      try {
        await assert.rejects(c.query('IndividualCustomerCollection', { filter: "Foo eq 'x'" }), (err: C4CError) => {
          assert.equal(err.status, 400);
          assert.equal(err.code, 'SY/530');
          assert.match(err.message, /Property Foo is invalid/);
          return true;
        });
        assert.equal(calls, 2, 'one retry after the 504, none after the 400');
      } finally {
        c.close();
      }
    });

    describe('paging behind an alias', () => {
      let decoy: Server;
      let decoyPort = 0;
      let decoyHits = 0;
      before(async () => {
        decoy = createServer((_req, res) => {
          decoyHits++;
          res.end('{"d":{"results":[]}}');
        });
        await new Promise<void>((r) => decoy.listen(0, '127.0.0.1', r));
        decoyPort = (decoy.address() as AddressInfo).port;
      });
      after(async () => {
        decoy.closeAllConnections();
        await new Promise<void>((r) => decoy.close(() => r()));
      });
      beforeEach(() => {
        decoyHits = 0;
      });

      /** Two pages; the first names `nextBase` for the second. */
      const twoPages = (nextBase: string): Handler => (req, res) => {
        if (req.url?.includes('$skiptoken=1')) return reply(res, 200, '{"d":{"results":[{"ObjectID":"B"}]}}');
        reply(res, 200, JSON.stringify({ d: { results: [{ ObjectID: 'A' }], __next: `${nextBase}IndividualCustomerCollection?$format=json&$skiptoken=1` } }));
      };
      const port = () => new URL(base).port;
      const ids = (res: { results: Array<{ ObjectID?: unknown }> }) => res.results.map((e) => e.ObjectID);

      it('takes the path and query of a __next on another host, and sends nothing there', async () => {
        for (const host of [`localhost:${port()}`, `localhost:${decoyPort}`]) {
          seen.length = 0;
          handler = twoPages(`http://${host}${STANDARD_SERVICE_PATH}`);
          const c = scripted();
          try {
            const res = await c.query('IndividualCustomerCollection', { allPages: true });
            assert.deepEqual(ids(res), ['A', 'B'], host);
          } finally {
            c.close();
          }
          assert.deepEqual(
            seen.map((r) => r.headers.host),
            [`127.0.0.1:${port()}`, `127.0.0.1:${port()}`],
            `every page of ${host} is asked on the configured host`,
          );
          assert.equal(seen[1].url, `${STANDARD_SERVICE_PATH}IndividualCustomerCollection?$format=json&$skiptoken=1`);
        }
        assert.equal(decoyHits, 0, 'no request reached the host the link named');
      });

      it("maps a __next onto a proxy's path prefix when the link names the tenant's own service path", async () => {
        // The tenant behind the proxy names itself without the proxy's prefix.
        handler = twoPages(`http://localhost:${decoyPort}${STANDARD_SERVICE_PATH}`);
        const c = scripted({ baseUrl: `${base}/proxy/tenant` });
        try {
          assert.deepEqual(ids(await c.query('IndividualCustomerCollection', { allPages: true })), ['A', 'B']);
        } finally {
          c.close();
        }
        assert.equal(seen[1].url, `/proxy/tenant${STANDARD_SERVICE_PATH}IndividualCustomerCollection?$format=json&$skiptoken=1`);
        assert.equal(decoyHits, 0);
      });

      it('refuses a __next outside the service with a typed error, and sends nothing for it', async () => {
        for (const nextBase of [`http://localhost:${decoyPort}/sap/c4c/odata/v1/other/`, `${base}/sap/c4c/odata/cust/v1/zindividualcustomer/`]) {
          seen.length = 0;
          handler = twoPages(nextBase);
          const c = scripted();
          try {
            await assert.rejects(c.query('IndividualCustomerCollection', { allPages: true }), (err: C4CError) => {
              assert.ok(err instanceof C4CError);
              assert.equal(err.kind, 'protocol');
              assert.equal(err.code, 'NEXT_OUTSIDE_SERVICE');
              assert.match(err.message, /refusing to follow __next to .*: its path is outside the service \/sap\/c4c\/odata\/v1\/c4codataapi\//);
              return true;
            });
          } finally {
            c.close();
          }
          assert.equal(seen.length, 1, `only the first page was asked (${nextBase})`);
        }
        assert.equal(decoyHits, 0);
      });
    });

    it('keeps connections alive: sequential calls share one socket', async () => {
      handler = (_req, res) => reply(res, 200, '{"d":{"results":[]}}');
      const c = scripted();
      try {
        for (let i = 0; i < 5; i++) await c.query('IndividualCustomerCollection');
        assert.equal(seen.length, 5);
        assert.equal(connections, 1);
      } finally {
        c.close();
      }
    });

    it('keeps passwords, tokens and assertions out of every error', async () => {
      const secrets = ['pw-Secret-1', 'tok-Secret-2', 'assert-Secret-3', 'client-Secret-4', 'url-Secret-5'];
      handler = (req, res) => {
        if (req.url?.includes('oauth2/token')) return reply(res, 401, '{"error":"invalid_client","error_description":"client authentication failed"}');
        // Some servers echo the request; ours must not pass that on beyond the message text.
        reply(res, req.url?.includes('Echo') ? 500 : 401, JSON.stringify({ error: { code: 'X', message: 'denied' } }));
      };
      const clients = [
        scripted({ auth: { type: 'basic', user: 'u', password: secrets[0] } }),
        scripted({ auth: { type: 'bearer', token: secrets[1] } }),
        scripted({ auth: { type: 'saml-bearer', tokenUrl: `${base}/sap/bc/sec/oauth2/token`, clientId: 'c', clientSecret: secrets[3], scope: 'UIWC:CC_HOME', assertion: secrets[2] } }),
        // Credentials in a token URL are sent by Node, but must not show in the error.
        scripted({ auth: { type: 'saml-bearer', tokenUrl: `http://user:${secrets[4]}@127.0.0.1:1/token`, clientId: 'c', scope: 'UIWC:CC_HOME', assertion: secrets[2] }, retries: 0 }),
        scripted({ auth: { type: 'bearer-msg' }, timeoutMs: 50, retries: 0 }),
      ];
      const errors: unknown[] = [];
      try {
        for (const c of clients) {
          for (const call of [() => c.query('IndividualCustomerCollection', {}, { bearerToken: secrets[1] }), () => c.create('EchoCollection', { LastName: 'x' }, { bearerToken: secrets[1] })]) {
            await call().then(
              () => assert.fail('the call should fail'),
              (err: unknown) => errors.push(err),
            );
          }
        }
      } finally {
        for (const c of clients) c.close();
      }
      assert.equal(errors.length, 10);
      for (const err of errors) {
        assert.ok(err instanceof C4CError, `a C4CError, not ${String(err)}`);
        const text = [err.message, err.stack, JSON.stringify(err), JSON.stringify(err.toJSON())].join('\n');
        for (const secret of secrets) assert.ok(!text.includes(secret), `"${secret}" leaked: ${text}`);
        assert.doesNotMatch(text, /Authorization|Basic [A-Za-z0-9+/=]{4,}|Bearer \S|\/\/[^/\s]*:[^/\s]*@/);
      }
    });
  });
});
