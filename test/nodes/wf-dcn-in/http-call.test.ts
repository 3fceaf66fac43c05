import assert from 'node:assert/strict';
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DcnHttpCall, DcnServlet } from '../../../lib/dcn/types';
import { BodyError } from '../../../lib/http/body';
import { readDcnCall } from '../../../nodes/wf-dcn-in/http-call';
import { editorBodyParsers } from '../../support/editor-parsers';

type Outcome = { call?: DcnHttpCall; error?: BodyError };

describe('wf-dcn-in: reading a request into a DCN call', () => {
  let server: Server;
  let base = '';
  let servlet: DcnServlet = 'http-auth';
  let upstreamParsers = false;
  const limit = 1000;

  before(async () => {
    const parsers = editorBodyParsers();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const read = () =>
        readDcnCall(req, servlet, limit).then(
          (call) => res.end(JSON.stringify({ call })),
          (error: BodyError) => res.end(JSON.stringify({ error: { status: error.status, message: error.message } })),
        );
      if (!upstreamParsers) return void read();
      // As Node-RED runs them with the editor at /: JSON first, then forms.
      parsers[0](req, res, () => parsers[1](req, res, () => void read()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    servlet = 'http-auth';
    upstreamParsers = false;
  });

  async function call(path: string, init: RequestInit = {}): Promise<Outcome> {
    const res = await fetch(base + path, init);
    return (await res.json()) as Outcome;
  }

  const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  for (const upstream of [false, true]) {
    describe(upstream ? "after the editor's body parsers" : 'reading the body itself', () => {
      beforeEach(() => (upstreamParsers = upstream));

      it('takes a raw JSON body as the request, the parameters from the query', async () => {
        const request = { op: ':upsert', id: 'WID1', to: 'SUPAdmin' };
        const { call: got } = await call('/dcn?cmd=wf&security=default', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic eDp5' }, body: JSON.stringify(request) });
        assert.ok(got);
        assert.equal(got.method, 'POST');
        assert.deepEqual(got.parameters, { cmd: 'wf', security: 'default' });
        assert.deepEqual(JSON.parse(got.rawBody), request);
        assert.equal(got.authorization, 'Basic eDp5');
      });

      it('takes form fields as parameters, the form winning over the query', async () => {
        const { call: got } = await call('/dcn?cmd=dcn&package=a:1', form({ cmd: 'wf', dcn_request: '{"op":":delete"}', security: 'travel' }));
        assert.ok(got);
        assert.deepEqual(got.parameters, { cmd: 'wf', package: 'a:1', dcn_request: '{"op":":delete"}', security: 'travel' });
        assert.equal(got.rawBody, '');
      });

      it('refuses a body over the limit with 413', async () => {
        const { error } = await call('/dcn?cmd=wf', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(limit) }) });
        assert.equal(error?.status, 413);
        const { error: formError } = await call('/dcn', form({ dcn_request: 'x'.repeat(limit) }));
        assert.equal(formError?.status, 413);
      });
    });
  }

  it('takes a GET query, keeping the first of repeated parameters, decoding + and %XX', async () => {
    servlet = 'parameters';
    const { call: got } = await call('/dcn?cmd=wf&cmd=dcn&username=a%40b&dcn_request=%7B%22op%22%3A%22~upsert%22%7D&subject=two+words');
    assert.ok(got);
    assert.equal(got.servlet, 'parameters');
    assert.equal(got.method, 'GET');
    assert.deepEqual(got.parameters, { cmd: 'wf', username: 'a@b', dcn_request: '{"op":"~upsert"}', subject: 'two words' });
    assert.equal(got.authorization, undefined);
  });

  it('hands on the headers a filter may see, without those carrying credentials', async () => {
    const { call: got } = await call('/dcn', { method: 'POST', headers: { 'content-type': 'text/plain', 'x-back-end': 'erp', authorization: 'Basic eDp5', cookie: 'session=1' }, body: 'raw text' });
    assert.ok(got);
    assert.equal(got.headers['x-back-end'], 'erp');
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.headers.cookie, undefined);
    assert.equal(got.rawBody, 'raw text');
  });

  it('refuses a chunked body once it crosses the limit', async () => {
    const outcome = await new Promise<Outcome>((resolve, reject) => {
      const req = request(`${base}/dcn`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as Outcome));
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('x'.repeat(300));
      req.end();
    });
    assert.equal(outcome.error?.status, 413);
  });
});
