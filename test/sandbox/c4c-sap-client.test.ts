/**
 * Contract tests: the C4C stand-in driven by SAP's own HTTP client (@sap-cloud-sdk/http-client),
 * which fetches CSRF tokens its own way (HEAD on the target URL with a trailing '/', then
 * without; "x-csrf-token: Fetch"; the token taken from an error answer too) and encodes
 * every query parameter. What it accepts here, a tenant accepts from it.
 */
import assert from 'node:assert/strict';
import { executeHttpRequest, HttpRequestConfig, HttpResponse } from '@sap-cloud-sdk/http-client';
import { parseBatchResponse } from '../../lib/c4c';
import type { Sandbox } from '../../sandbox';
import { DEMO_C4C } from '../../sandbox/demo-accounts';
import { withSandbox } from '../support/sandbox';

const SERVICE = '/sap/c4c/odata/v1/c4codataapi/';
const JSON_ONLY = { Accept: 'application/json' };

interface Entity {
  ObjectID: string;
  LastName: string;
  FirstName?: string;
  __metadata: { etag: string };
}

interface SapError {
  error: { code: string; message: { lang: string; value: string } };
}

describe('sandbox C4C stand-in driven by SAP Cloud SDK http-client', () => {
  let sandbox: Sandbox;
  let destination: { url: string; username: string; password: string };
  withSandbox((started) => {
    sandbox = started;
    destination = { url: `${sandbox.c4c.tenantUrl}${SERVICE}`, username: DEMO_C4C.user, password: DEMO_C4C.password };
  });

  const sap = (request: HttpRequestConfig): Promise<HttpResponse> => executeHttpRequest(destination, request, { fetchCsrfToken: true });
  /** The answer of a request the client reports as failed (axios rejects non-2xx). */
  const refusal = async (request: HttpRequestConfig): Promise<{ status: number; data: unknown }> => {
    try {
      await sap(request);
    } catch (err) {
      const response = (err as { response?: { status: number; data: unknown } }).response;
      if (response) return response;
      throw err;
    }
    return assert.fail(`${request.method} ${request.url} should have been refused`);
  };
  const entityOf = (res: HttpResponse): Entity => (res.data as { d: Entity }).d;
  const create = async (fields: Record<string, string>): Promise<Entity> =>
    entityOf(await sap({ method: 'post', url: 'IndividualCustomerCollection', data: { RoleCode: 'CRM000', ...fields }, headers: JSON_ONLY }));

  it('fetches a CSRF token with HEAD and "Fetch", then creates with one POST', async () => {
    const res = await sap({ method: 'post', url: 'IndividualCustomerCollection', data: { LastName: 'Sdk', RoleCode: 'CRM000' }, headers: JSON_ONLY });
    assert.equal(res.status, 201);
    assert.equal(entityOf(res).LastName, 'Sdk');
    assert.equal(res.headers.etag, entityOf(res).__metadata.etag);
    assert.equal(sandbox.c4c.stats.csrfFetches, 1);
    assert.equal(sandbox.c4c.stats.csrfRejections, 0);
    assert.deepEqual(
      sandbox.c4c.customers().map((c) => c.LastName),
      ['Sdk'],
    );
  });

  it('reads by positional and by named key, with encoded query options', async () => {
    const created = await create({ LastName: 'Keys' });
    const read = (key: string) => sap({ method: 'get', url: `IndividualCustomerCollection${key}`, params: { $format: 'json', $select: 'ObjectID,LastName' } });
    const positional = await read(`('${created.ObjectID}')`);
    const named = await read(`(ObjectID='${created.ObjectID}')`);
    for (const res of [positional, named]) {
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(entityOf(res)).sort(), ['LastName', 'ObjectID', '__metadata']);
      assert.equal(entityOf(res).LastName, 'Keys');
    }
    assert.equal(named.headers.etag, positional.headers.etag);
  });

  it('patches with If-Match from the ETag the stand-in wrote, and refuses the stale one with 412', async () => {
    const created = await create({ LastName: 'Locked' });
    const url = `IndividualCustomerCollection('${created.ObjectID}')`;
    const etag = String((await sap({ method: 'get', url, headers: JSON_ONLY })).headers.etag);
    assert.equal(etag, created.__metadata.etag);
    const patched = await sap({ method: 'patch', url, data: { FirstName: 'First' }, headers: { 'If-Match': etag } });
    assert.equal(patched.status, 204);
    assert.notEqual(patched.headers.etag, etag);
    const stale = await refusal({ method: 'patch', url, data: { FirstName: 'Second' }, headers: { 'If-Match': etag, ...JSON_ONLY } });
    assert.equal(stale.status, 412);
    assert.match((stale.data as SapError).error.message.value, /changed by another user/);
    assert.equal(sandbox.c4c.getCustomer(created.ObjectID)?.FirstName, 'First');
  });

  it('counts with /$count in plain text, after $filter', async () => {
    for (const name of ['Wang', 'Wu', 'Li']) sandbox.c4c.createCustomer({ LastName: name, RoleCode: 'CRM000' });
    const res = await sap({ method: 'get', url: 'IndividualCustomerCollection/$count', params: { $filter: "startswith(LastName,'W')" } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.equal(String(res.data), '2');
  });

  it('runs a $batch body built by hand, with relative and absolute sub-requests', async () => {
    const a = sandbox.c4c.createCustomer({ LastName: 'A', RoleCode: 'CRM000' });
    const part = (http: string) => `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${http}`;
    const body =
      `--batch_1\r\n${part(`GET IndividualCustomerCollection('${a.ObjectID}')?$format=json HTTP/1.1\r\n\r\n\r\n`)}` +
      `--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n` +
      `--changeset_1\r\n${part(`PATCH ${SERVICE}IndividualCustomerCollection('${a.ObjectID}') HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"FirstName":"Batched"}\r\n`)}` +
      `--changeset_1\r\n${part(`POST ${SERVICE}IndividualCustomerCollection HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n\r\n{"LastName":"B","RoleCode":"CRM000"}\r\n`)}` +
      `--changeset_1--\r\n--batch_1--\r\n`;
    const res = await sap({ method: 'post', url: '$batch', data: body, headers: { 'Content-Type': 'multipart/mixed; boundary=batch_1', Accept: 'multipart/mixed' } });
    assert.equal(res.status, 202);
    const [read, changeset] = parseBatchResponse(String(res.data), String(res.headers['content-type']));
    assert.ok(!Array.isArray(read) && Array.isArray(changeset));
    assert.equal(read.status, 200);
    assert.equal((JSON.parse(read.body) as { d: Entity }).d.LastName, 'A');
    assert.deepEqual(
      changeset.map((r) => r.status),
      [204, 201],
    );
    assert.equal(sandbox.c4c.getCustomer(String(a.ObjectID))?.FirstName, 'Batched');
    assert.deepEqual(sandbox.c4c.customers().map((c) => c.LastName).sort(), ['A', 'B']);
  });

  it('answers HEAD with a token and the headers of the GET, without a body', async () => {
    const created = await create({ LastName: 'Head' });
    const url = `IndividualCustomerCollection('${created.ObjectID}')`;
    const got = await sap({ method: 'get', url, headers: JSON_ONLY });
    const head = await sap({ method: 'head', url, headers: { 'x-csrf-token': 'Fetch', ...JSON_ONLY } });
    assert.equal(head.status, 200);
    assert.match(String(head.headers['x-csrf-token']), /^[A-Za-z0-9+/]{20,}={0,2}$/);
    assert.equal(head.headers.etag, got.headers.etag);
    assert.equal(head.headers['content-length'], got.headers['content-length']);
    assert.equal(head.data, '');
  });

  it('refuses what the stand-in does not model with an SAP-style error, never a silent success', async () => {
    const created = await create({ LastName: 'Plain' });
    const expand = await refusal({ method: 'get', url: `IndividualCustomerCollection('${created.ObjectID}')`, params: { $format: 'json', $expand: 'IndividualCustomerAddress' } });
    assert.equal(expand.status, 501);
    const { error } = expand.data as SapError;
    assert.equal(error.code, 'NOT_IMPLEMENTED');
    assert.equal(error.message.lang, 'en');
    assert.match(error.message.value, /\$expand is not supported/);
    const atom = await refusal({ method: 'get', url: 'IndividualCustomerCollection', headers: { Accept: 'application/atom+xml' } });
    assert.equal(atom.status, 501);
    assert.match((atom.data as SapError).error.message.value, /Atom/);
  });
});
