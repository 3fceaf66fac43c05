/**
 * Our routes inside a whole Node-RED, with its default settings (the editor at /, whose
 * JSON and form parsers run before every route) and with the editor moved to /admin.
 * No request may be left unanswered, and the answers keep their meaning either way.
 */
import assert from 'node:assert/strict';
import { WeChatClientSimulator } from '../../sandbox/wechat-client';
import { NodeRedInstance } from '../support/node-red-process';
import { notifyAuth, runtimeFlow } from '../support/runtime-flow';

const NOTIFICATION = JSON.stringify({ businessObject: 'Customer', businessObjectId: 'C-1', event: 'Update' });

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

for (const [label, settings] of [
  ['default settings (editor at /)', {}],
  ["httpAdminRoot: '/admin'", { httpAdminRoot: '/admin' }],
] as const) {
  describe(`routes in a Node-RED runtime with ${label}`, function () {
    this.timeout(60_000);
    const editorAtRoot = !('httpAdminRoot' in settings);
    let nr: NodeRedInstance;
    before(async () => {
      nr = await NodeRedInstance.start({ ...runtimeFlow(), settings, env: { INSTANCE: 'solo' }, readyPath: '/wx/oa' });
    });
    after(() => nr?.stop());

    it('wechat-in answers a genuine encrypted callback', async () => {
      const result = await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(nr.url('/wx/oa'), { content: 'hi' });
      assert.equal(result.reply.kind === 'reply' && result.reply.text, 'answer from solo');
    });

    it('wechat-in answers a JSON or form body at once with a 4xx, never leaving the request open', async () => {
      const client = WeChatClientSimulator.demo('official', { mode: 'safe' });
      for (const [type, body] of [
        ['application/json', '{"a":1}'],
        ['application/x-www-form-urlencoded', 'a=1'],
      ]) {
        const { url } = client.prepare(nr.url('/wx/oa'), { content: 'x' });
        const started = Date.now();
        const res = await post(url, body, { 'content-type': type });
        assert.ok(Date.now() - started < 2000, 'answered at once');
        // With the editor at / the body arrives already parsed (415); otherwise it is read and is not XML (400).
        assert.deepEqual([res.status, res.body], editorAtRoot ? [415, 'parsed_body'] : [400, 'bad_xml'], type);
      }
      assert.equal(nr.reports.filter((r) => r.kind === 'wechat').length, 1, 'only the genuine callback reached the flow');
    });

    it('c4c-notification-in accepts JSON sent as text/plain, refuses a form with 415, keeps its 1 MiB limit and its auth order', async () => {
      assert.equal((await post(nr.url('/c4c/notify'), NOTIFICATION, { 'content-type': 'application/json', authorization: notifyAuth })).status, 202);
      const text = await post(nr.url('/c4c/notify'), NOTIFICATION.replace('C-1', 'C-2'), { 'content-type': 'text/plain', authorization: notifyAuth.replace('Basic', 'basic') });
      assert.equal(text.status, 202);
      const form = await post(nr.url('/c4c/notify'), 'businessObjectId=C-3', { 'content-type': 'application/x-www-form-urlencoded', authorization: notifyAuth });
      // A form the editor decoded cannot be JSON any more; read raw, it is not JSON either.
      assert.deepEqual([form.status, editorAtRoot ? /sent as a form/.test(form.body) : /not valid JSON/.test(form.body)], [editorAtRoot ? 415 : 400, true]);
      const big = JSON.stringify({ businessObjectId: 'BIG', pad: 'a'.repeat(3 * 1024 * 1024) });
      const unauthenticated = await post(nr.url('/c4c/notify'), big, { 'content-type': 'application/json' });
      assert.equal(unauthenticated.status, 401, 'credentials are checked first');
      const tooBig = await post(nr.url('/c4c/notify'), big, { 'content-type': 'application/json', authorization: notifyAuth });
      assert.equal(tooBig.status, 413);
      assert.match(tooBig.type, /application\/json/);
      const deep = '{"businessObjectId":"D","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
      const nested = await post(nr.url('/c4c/notify'), deep, { 'content-type': 'text/plain', authorization: notifyAuth });
      assert.equal(nested.status, 400);
      await nr.waitForReport('the second notification', (r) => r.rootId === 'C-2');
      assert.deepEqual(nr.reports.filter((r) => r.kind === 'c4c').map((r) => r.rootId), ['C-1', 'C-2']);
    });

    it('c4c-notification-in: malformed JSON is a 4xx whichever parser saw it first', async () => {
      const res = await post(nr.url('/c4c/notify'), '{not json', { 'content-type': 'application/json', authorization: notifyAuth });
      assert.equal(res.status, 400);
      // The editor's parser answers before our route runs (an HTML page); ours answers JSON.
      if (!editorAtRoot) assert.match(res.body, /not valid JSON/);
    });
  });
}
