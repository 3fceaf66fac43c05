import assert from 'node:assert/strict';
import { buildBatch, parseBatchResponse, validateParts } from '../../../lib/c4c/batch';
import { CookieJar } from '../../../lib/c4c/cookies';
import { httpError, parseErrorBody } from '../../../lib/c4c/errors';
import { DedupeWindow, parseNotification } from '../../../lib/c4c/notification';
import { buildQuery, convertDate, customServicePath, formatKey, serviceRoot, unwrap } from '../../../lib/c4c/odata';

describe('lib/c4c odata helpers', () => {
  it('joins base URL and service path with exactly one trailing slash', () => {
    assert.equal(serviceRoot('https://my1.crm.ondemand.com/', 'sap/c4c/odata/v1/c4codataapi'), 'https://my1.crm.ondemand.com/sap/c4c/odata/v1/c4codataapi/');
    assert.equal(customServicePath('zindividualcustomer'), '/sap/c4c/odata/cust/v1/zindividualcustomer/');
    assert.throws(() => serviceRoot('https://u:p@my1.crm.ondemand.com', '/x/'), /credentials fields/);
    assert.throws(() => customServicePath('../evil'), /not valid/);
  });

  it('formats keys and escapes quotes', () => {
    assert.equal(formatKey("00163E0'1"), "('00163E0''1')");
    assert.equal(formatKey({ ObjectID: 'A', Count: 2 }), "(ObjectID='A',Count=2)");
    assert.equal(formatKey("('raw')"), "('raw')");
    assert.throws(() => formatKey(' '), /empty/);
  });

  it('builds query strings with $format=json and encodes spaces and quotes safely', () => {
    const q = buildQuery({ filter: "ParentObjectID eq 'a b&c'", select: ['ObjectID', 'WechatID'], top: 5, skip: 0, inlinecount: true });
    assert.equal(q, "$filter=ParentObjectID%20eq%20'a%20b%26c'&$select=ObjectID,WechatID&$top=5&$skip=0&$inlinecount=allpages&$format=json");
    assert.throws(() => buildQuery({ top: -1 }), /whole number/);
  });

  it('unwraps collections: dates to ISO, __count to number, metadata and deferred links dropped, ETags kept', () => {
    const body = JSON.stringify({
      d: {
        __count: '42',
        __next: 'https://t/x?$skiptoken=2',
        results: [
          {
            __metadata: { uri: 'u', type: 't', etag: 'W/"1"' },
            ObjectID: 'A',
            CreationOn: '/Date(1700000000000)/',
            Changed: '/Date(1700000000000+0060)/',
            Notes: { __deferred: { uri: 'x' } },
            Addresses: { results: [{ __metadata: { uri: 'a' }, City: 'Shanghai' }] },
          },
        ],
      },
    });
    const out = unwrap(body);
    assert.equal(out.count, 42);
    assert.equal(out.next, 'https://t/x?$skiptoken=2');
    assert.deepEqual(out.value, [{ ObjectID: 'A', CreationOn: '2023-11-14T22:13:20.000Z', Changed: '2023-11-14T22:13:20.000Z', Addresses: [{ City: 'Shanghai' }] }]);
    assert.deepEqual(out.etags, ['W/"1"']);
    assert.equal(convertDate('not a date'), 'not a date');
  });

  it('unwraps single entities from d and from d.results, preferring the ETag header', () => {
    assert.deepEqual(unwrap('{"d":{"__metadata":{"etag":"m"},"A":1}}'), { value: { A: 1 }, etag: 'm' });
    assert.deepEqual(unwrap('{"d":{"results":{"__metadata":{"etag":"m"},"A":2}}}', 'h'), { value: { A: 2 }, etag: 'h' });
    assert.throws(() => unwrap('<xml/>'), /not JSON/);
  });

  it('parses SAP error bodies defensively', () => {
    assert.deepEqual(parseErrorBody('{"error":{"code":"SY/530","message":{"lang":"en","value":"bad"}}}'), { code: 'SY/530', message: 'bad' });
    assert.deepEqual(parseErrorBody('{"error":{"code":"X","message":"plain"}}'), { code: 'X', message: 'plain' });
    assert.deepEqual(parseErrorBody('<error><code>C1</code><message xml:lang="en">a &amp; b</message></error>'), { code: 'C1', message: 'a & b' });
    assert.equal(parseErrorBody(''), null);
    const conflict = httpError(412, '', 'PATCH X');
    assert.equal(conflict.kind, 'conflict');
    assert.equal(conflict.status, 412);
  });
});

describe('lib/c4c cookie jar', () => {
  it('returns every cookie whatever its name and honours deletion', () => {
    const jar = new CookieJar();
    jar.store('https://t/a', { 'set-cookie': ['sap-XSRF_ABC_100=v1; path=/; secure', 'SAP_SESSIONID_X=s; HttpOnly'] });
    assert.equal(jar.header('https://t/b'), 'sap-XSRF_ABC_100=v1; SAP_SESSIONID_X=s');
    assert.equal(jar.header('https://other/b'), undefined);
    jar.store('https://t/a', { 'set-cookie': ['SAP_SESSIONID_X=; Max-Age=0'] });
    assert.equal(jar.header('https://t/b'), 'sap-XSRF_ABC_100=v1');
    jar.store('https://t/a', { 'set-cookie': ['old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT'] });
    assert.equal(jar.size, 1);
  });
});

describe('lib/c4c $batch', () => {
  it('builds change sets with CRLFs and encoded queries, and parses nested answers', () => {
    const { body, contentType } = buildBatch(
      [{ method: 'GET', path: "X?$filter=A eq 'b'" }, { changeset: [{ method: 'PATCH', path: "X('1')", body: { A: 1 } }] }],
      'batch_t',
    );
    assert.equal(contentType, 'multipart/mixed; boundary=batch_t');
    assert.match(body, /GET X\?\$filter=A%20eq%20'b' HTTP\/1\.1\r\nAccept: application\/json\r\n\r\n\r\n/);
    assert.match(body, /Content-Type: multipart\/mixed; boundary=changeset_[0-9a-f]+\r\n\r\n--changeset_/);
    assert.match(body, /PATCH X\('1'\) HTTP\/1\.1\r\n.*Content-Type: application\/json\r\nContent-Length: 7\r\n\r\n\{"A":1\}\r\n/s);
    assert.ok(body.endsWith('--batch_t--\r\n'));

    const answer =
      '--r\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"d":{"results":[]}}\r\n' +
      '--r\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\netag: e1\r\n\r\n\r\n--cs--\r\n--r--\r\n';
    const parsed = parseBatchResponse(answer, 'multipart/mixed; boundary=r');
    assert.equal(parsed.length, 2);
    assert.deepEqual(parsed[0], { status: 200, headers: { 'content-type': 'application/json' }, body: '{"d":{"results":[]}}' });
    assert.ok(Array.isArray(parsed[1]));
    assert.equal((parsed[1] as { status: number }[])[0].status, 204);
  });

  it('refuses writes outside change sets and empty batches', () => {
    assert.throws(() => validateParts([]), /non-empty/);
    assert.throws(() => validateParts([{ method: 'POST', path: 'X' }]), /change set/);
    assert.throws(() => validateParts([{ changeset: [{ method: 'GET', path: 'X' }] }]), /POST\/PUT\/PATCH\/DELETE/);
  });
});

describe('lib/c4c notifications', () => {
  it('normalises the C4C payload and tolerates unknown fields', () => {
    const n = parseNotification({
      businessObject: 'Customer',
      businessObjectId: 'ABC',
      event: 'Update',
      odataServiceEndpoint: "https://t/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('ABC')",
      somethingNew: { x: 1 },
    });
    assert.equal(n.businessObject, 'Customer');
    assert.equal(n.rootId, 'ABC');
    assert.equal(n.event, 'updated');
    assert.deepEqual(n.raw.somethingNew, { x: 1 });
  });

  it('reads the Extension Factory variant and derives names from the endpoint', () => {
    const n = parseNotification({ topic: 'Account.Root.Created.v1', data: { 'entity-id': 'E', 'root-entity-id': 'R' } });
    assert.deepEqual([n.businessObject, n.rootId, n.entityId, n.event], ['Account', 'R', 'E', 'created']);
    const m = parseNotification({ odataServiceEndpoint: "https://t/x/IndividualCustomerCollection('Z')" });
    assert.deepEqual([m.businessObject, m.rootId], ['IndividualCustomer', 'Z']);
    assert.throws(() => parseNotification({ foo: 1 }), /names no business object/);
    assert.throws(() => parseNotification([1]), /not a JSON object/);
  });

  it('de-duplicates within the window only', () => {
    let t = 0;
    const w = new DedupeWindow(1000, 10, () => t);
    assert.equal(w.firstSeen('a'), true);
    assert.equal(w.firstSeen('a'), false);
    t = 1500;
    assert.equal(w.firstSeen('a'), true);
    assert.equal(w.size, 1);
  });
});
