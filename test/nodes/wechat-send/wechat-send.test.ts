import { waitFor, waitForStatus } from '../../support/flow-watch';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeMessage } from 'node-red';
import registerAccount from '../../../nodes/wechat-account/wechat-account';
import registerSend from '../../../nodes/wechat-send/wechat-send';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { Sandbox, startSandbox } from '../../../sandbox/index';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { PG_URL, usePostgresSchema, withPostgres } from '../../lib/store/pg-support';

type Msg = NodeMessage & Record<string, unknown>;
type StatusSpy = { args: unknown[][] };

describe('wechat-send node', () => {
  let sandbox: Sandbox;
  let userDir: string;
  const harness = new NodeRedHarness();

  before(async () => {
    sandbox = await startSandbox();
    userDir = mkdtempSync(join(tmpdir(), 'wxb-send-'));
  });
  after(async () => {
    await harness.stop();
    await sandbox.close();
    rmSync(userDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox.wechat.reset();
    sandbox.wecom.reset();
  });
  afterEach(() => harness.unload());

  const officialAccount = (): FlowNode => ({ id: 'acct', type: 'wechat-account', kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, apiBase: `${sandbox.baseUrl}/wechat` });
  const wecomAccount = (): FlowNode => ({
    id: 'acct',
    type: 'wechat-account',
    kind: 'wecom',
    appId: DEMO_WECOM_APP.corpId,
    agentId: DEMO_WECOM_APP.agentId,
    apiBase: `${sandbox.baseUrl}/wecom`,
  });
  const secret = (kind: 'official' | 'wecom') => ({ acct: { appSecret: kind === 'official' ? DEMO_OFFICIAL_ACCOUNT.appSecret : DEMO_WECOM_APP.corpSecret } });

  async function load(account: FlowNode, send: Partial<FlowNode> = {}, extra: FlowNode[] = [], credentials: object = secret(account.kind as 'official')): Promise<void> {
    await harness.load(
      [registerAccount, registerSend, registerStore],
      [
        { id: 'tab', type: 'tab' },
        account,
        { id: 'send', type: 'wechat-send', z: 'tab', account: 'acct', to: 'to', toType: 'msg', wires: [['out']], ...send },
        { id: 'out', type: 'helper', z: 'tab' },
        ...extra,
      ],
      credentials,
      { userDir },
    );
  }

  /** Resolves with the output message, or with what done(err) reported (what a Catch node receives). */
  const roundTrip = (msg: Msg, target = 'send') => harness.roundTrip(msg, target);

  const lastStatus = () => {
    const spy = (harness.getNode('send') as Node & { status: StatusSpy }).status;
    return spy.args[spy.args.length - 1]?.[0] as { fill?: string; text?: string } | undefined;
  };

  describe('Official Account', () => {
    it('sends a string payload as text to the recipient from msg, and puts the result on msg.payload', async () => {
      await load(officialAccount());
      const { out } = await roundTrip({ payload: 'Your order has shipped', to: 'openid-1' });
      assert.deepEqual(out?.payload, { errcode: 0, errmsg: 'ok' });
      assert.deepEqual(sandbox.wechat.messages[0].body, { touser: 'openid-1', msgtype: 'text', text: { content: 'Your order has shipped' } });
      await waitFor(`status fill green`, () => lastStatus()?.fill === 'green');
      assert.ok(existsSync(join(userDir, 'wechat-sap.sqlite')), 'the embedded store lives in the userDir');
    });

    it('reads the recipient from str, env, flow and global properties', async () => {
      process.env.WXB_TEST_RECIPIENT = 'openid-env';
      const cases: [string, string, (node: Node) => void][] = [
        ['str', 'openid-str', () => undefined],
        ['env', 'WXB_TEST_RECIPIENT', () => undefined],
        ['flow', 'recipient', (n) => n.context().flow.set('recipient', 'openid-flow')],
        ['global', 'recipient', (n) => n.context().global.set('recipient', 'openid-global')],
      ];
      for (const [toType, to, prepare] of cases) {
        await load(officialAccount(), { to, toType });
        prepare(harness.getNode('send'));
        await roundTrip({ payload: 'hi' });
        await harness.unload();
      }
      delete process.env.WXB_TEST_RECIPIENT;
      assert.deepEqual(
        sandbox.wechat.messages.map((m) => m.body.touser),
        ['openid-str', 'openid-env', 'openid-flow', 'openid-global'],
      );
    });

    const customBodies: Record<string, object> = {
      text: { content: 'hello' },
      image: { media_id: 'MEDIA_IMG' },
      voice: { media_id: 'MEDIA_VOICE' },
      video: { media_id: 'MEDIA_VIDEO', thumb_media_id: 'THUMB', title: 'T', description: 'D' },
      music: { title: 'Song', description: 'D', musicurl: 'https://m/a.mp3', hqmusicurl: 'https://m/a.flac', thumb_media_id: 'THUMB' },
      news: { articles: [{ title: 'News', description: 'D', url: 'https://example.com', picurl: 'https://example.com/p.png' }] },
      mpnews: { media_id: 'MPNEWS' },
      msgmenu: { head_content: 'Rate us', list: [{ id: '101', content: 'Good' }, { id: '102', content: 'Bad' }], tail_content: 'Thanks' },
      miniprogrampage: { title: 'Open', appid: 'wxmini', pagepath: 'pages/index', thumb_media_id: 'THUMB' },
    };

    it('sends every customer-service message type as given, the recipient filled in from the node', async () => {
      await load(officialAccount(), { to: 'openid-all', toType: 'str' });
      for (const [msgtype, content] of Object.entries(customBodies)) {
        const { out, caught } = await roundTrip({ payload: { msgtype, [msgtype]: content } });
        assert.ok(out, `${msgtype}: ${String(caught?.error.message)}`);
      }
      assert.deepEqual(
        sandbox.wechat.messages.map((m) => m.body),
        Object.entries(customBodies).map(([msgtype, content]) => ({ touser: 'openid-all', msgtype, [msgtype]: content })),
      );
    });

    it('sends a template message with url, mini program and client_msg_id, returning the msgid', async () => {
      await load(officialAccount());
      const payload = {
        template_id: 'TPL_ORDER',
        url: 'https://example.com/o/1',
        miniprogram: { appid: 'wxmini', pagepath: 'pages/o?id=1' },
        client_msg_id: 'order-1-shipped',
        data: { first: { value: 'Shipped' }, keyword1: { value: 'SO-1', color: '#173177' } },
      };
      const { out } = await roundTrip({ payload, to: 'openid-t' });
      assert.equal(typeof (out?.payload as { msgid: unknown }).msgid, 'number');
      assert.deepEqual(sandbox.wechat.messages[0], { ...sandbox.wechat.messages[0], api: 'message/template/send', body: { touser: 'openid-t', ...payload } });
    });

    it('uploads a Buffer payload and sends it by media_id', async () => {
      await load(officialAccount(), { mediaType: 'image' });
      await roundTrip({ payload: Buffer.alloc(2048, 7), to: 'openid-m', filename: 'chart.png' });
      assert.equal(sandbox.wechat.media.length, 1);
      assert.deepEqual(sandbox.wechat.media[0].filename, 'chart.png');
      assert.deepEqual(sandbox.wechat.messages[0].body, { touser: 'openid-m', msgtype: 'image', image: { media_id: sandbox.wechat.media[0].mediaId } });
    });

    it('uploads a Buffer of each media type and sends it by media_id', async () => {
      await load(officialAccount());
      const cases: [string, Record<string, unknown>][] = [
        ['image', {}],
        ['voice', {}],
        ['video', { title: 'Demo', description: 'How it works', thumbMediaId: 'THUMB' }],
      ];
      for (const [mediaType, extra] of cases) {
        const { out, caught } = await roundTrip({ payload: Buffer.alloc(4096, 3), mediaType, to: 'openid-m', ...extra });
        assert.ok(out, `${mediaType}: ${String(caught?.error.message)}`);
      }
      assert.deepEqual(
        sandbox.wechat.media.map((m) => [m.type, m.size, m.filename]),
        [
          ['image', 4096, 'image.jpg'],
          ['voice', 4096, 'voice.amr'],
          ['video', 4096, 'video.mp4'],
        ],
      );
      const [image, voice, video] = sandbox.wechat.media.map((m) => m.mediaId);
      assert.deepEqual(
        sandbox.wechat.messages.map((m) => m.body),
        [
          { touser: 'openid-m', msgtype: 'image', image: { media_id: image } },
          { touser: 'openid-m', msgtype: 'voice', voice: { media_id: voice } },
          { touser: 'openid-m', msgtype: 'video', video: { media_id: video, thumb_media_id: 'THUMB', title: 'Demo', description: 'How it works' } },
        ],
      );
    });

    it('checks the media type and the recipient before uploading a Buffer', async () => {
      await load(officialAccount());
      const thumb = await roundTrip({ payload: Buffer.alloc(1024, 1), mediaType: 'thumb', to: 'openid-m' });
      assert.match(String(thumb.caught?.error.message), /not as "thumb"/);
      const file = await roundTrip({ payload: Buffer.alloc(1024, 1), mediaType: 'file', to: 'openid-m' });
      assert.match(String(file.caught?.error.message), /not as "file"/);
      const nobody = await roundTrip({ payload: Buffer.alloc(1024, 1) });
      assert.match(String(nobody.caught?.error.message), /touser/);
      assert.equal(sandbox.wechat.media.length, 0);
      assert.equal(sandbox.wechat.tokenRequestCount, 0);
      await waitFor(`status text wechat-send.status.invalid`, () => lastStatus()?.text === 'wechat-send.status.invalid');
    });

    it('refuses a payload that is not a string, an object or a Buffer, and keeps working', async () => {
      await load(officialAccount());
      const cases: [unknown, string][] = [
        [undefined, 'undefined'],
        [null, 'null'],
        [true, 'boolean'],
        [['a', 'b'], 'array'],
      ];
      for (const [payload, type] of cases) {
        const { caught } = await roundTrip({ payload, to: 'openid-x' });
        assert.equal(caught?.error.message, `msg.payload must be a string, an object or a Buffer, not ${type}`);
        await waitFor(`status text wechat-send.status.invalid`, () => lastStatus()?.text === 'wechat-send.status.invalid');
      }
      assert.equal(sandbox.wechat.tokenRequestCount, 0);
      const { out } = await roundTrip({ payload: 'still here', to: 'openid-x' });
      assert.equal((out?.payload as { errcode: number }).errcode, 0);
      assert.equal(sandbox.wechat.messages.length, 1);
    });

    it('reports an HTTP 5xx through done(err) without resending', async () => {
      await load(officialAccount());
      sandbox.wechat.inject({ api: 'message/custom/send', status: 502 });
      const { caught } = await roundTrip({ payload: 'hi', to: 'u' });
      assert.match(String(caught?.error.message), /message\/custom\/send failed: HTTP 502/);
      await waitFor(`status text wechat-send.status.failed`, () => lastStatus()?.text === 'wechat-send.status.failed');
      assert.equal(sandbox.wechat.messages.length, 0);
    });

    it('does not retry a rate limit (45011) and says what to do', async () => {
      await load(officialAccount());
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 45011, errmsg: 'api minute-quota reach limit' });
      const { caught } = await roundTrip({ payload: 'hi', to: 'u' });
      assert.match(String(caught?.error.message), /errcode 45011 .*not retried; wait for the next minute/);
      // The fault answered one call only: a retry would have been delivered.
      assert.equal(sandbox.wechat.messages.length, 0);
    });

    it('refetches an expired token once and still delivers', async () => {
      await load(officialAccount());
      await roundTrip({ payload: 'one', to: 'u' });
      sandbox.wechat.expireTokens();
      const { out } = await roundTrip({ payload: 'two', to: 'u' });
      assert.equal((out?.payload as { errcode: number }).errcode, 0);
      assert.equal(sandbox.wechat.tokenRequestCount, 2);
      assert.equal(sandbox.wechat.messages.length, 2);
    });

    it('refuses an oversized Buffer before uploading anything', async () => {
      await load(officialAccount());
      const { caught } = await roundTrip({ payload: Buffer.alloc(2 * 1024 * 1024 + 1), mediaType: 'voice', to: 'openid-m' });
      assert.match(String(caught?.error.message), /voice limit/);
      assert.equal(sandbox.wechat.media.length, 0);
      assert.equal(sandbox.wechat.tokenRequestCount, 0);
      await waitFor(`status fill red`, () => lastStatus()?.fill === 'red');
    });

    it('takes wechat-reply payloads too', async () => {
      await load(officialAccount());
      await roundTrip({ payload: { type: 'music', thumbMediaId: 'TH', musicUrl: 'https://m/x.mp3' }, to: 'openid-r' });
      assert.deepEqual(sandbox.wechat.messages[0].body, { touser: 'openid-r', msgtype: 'music', music: { musicurl: 'https://m/x.mp3', thumb_media_id: 'TH' } });
    });

    it('passes API errors to Catch with errcode, errmsg and hint, and shows the errcode, never the token', async () => {
      await load(officialAccount());
      await roundTrip({ payload: 'warm-up', to: 'u' });
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 45015, errmsg: 'response out of time limit or subscription is canceled' });
      const { caught } = await roundTrip({ payload: 'late', to: 'u' });
      const message = String(caught?.error.message);
      assert.match(message, /errcode 45015 \(response out of time limit or subscription is canceled\)/);
      assert.match(message, /template message/);
      await waitForStatus(harness.getNode('send'), { fill: 'red', shape: 'ring', text: 'errcode 45015' });
      // Node-RED copies an error's own `code` to msg.error.code, so a Catch flow can branch on it.
      assert.ok(Object.prototype.hasOwnProperty.call(caught?.error, 'code'));
      assert.equal((caught?.error as Error & { code?: unknown }).code, 45015);
      const account = harness.getNode('acct') as Node & { api(): { tokens: { getToken(): Promise<string> } } };
      const token = await account.api().tokens.getToken();
      assert.ok(caught?.error instanceof Error);
      assert.ok(!`${caught.error.message} ${caught.error.stack} ${JSON.stringify(caught.error)}`.includes(token));
      assert.equal(caught.msg.payload, 'late');
      assert.equal(sandbox.wechat.messages.length, 1);
    });

    it('rejects an invalid body before sending', async () => {
      await load(officialAccount());
      const { caught } = await roundTrip({ payload: { msgtype: 'news', news: { articles: [] } }, to: 'u' });
      assert.match(String(caught?.error.message), /news\.articles must hold exactly 1 article/);
      assert.equal(sandbox.wechat.tokenRequestCount, 0);
      await waitFor(`status text wechat-send.status.invalid`, () => lastStatus()?.text === 'wechat-send.status.invalid');
    });

    it('needs a recipient', async () => {
      await load(officialAccount());
      const { caught } = await roundTrip({ payload: 'to nobody' });
      assert.match(String(caught?.error.message), /touser/);
    });

    it('shares one token between nodes of the same account: one token request for a burst across two nodes', async () => {
      await load(officialAccount(), {}, [{ id: 'send2', type: 'wechat-send', z: 'tab', account: 'acct', to: 'to', toType: 'msg', wires: [['out']] }]);
      let received = 0;
      const all = new Promise<void>((resolve) =>
        harness.getNode('out').on('input', () => {
          if (++received === 100) resolve();
        }),
      );
      for (let i = 0; i < 100; i++) harness.getNode(i % 2 ? 'send' : 'send2').receive({ payload: `m${i}`, to: `u${i}` });
      await all;
      assert.equal(sandbox.wechat.messages.length, 100);
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
    });
  });

  describe('WeCom', () => {
    const appBodies: Record<string, object> = {
      text: { content: 'hello' },
      image: { media_id: 'M1' },
      voice: { media_id: 'M2' },
      video: { media_id: 'M3', title: 'T', description: 'D' },
      file: { media_id: 'M4' },
      textcard: { title: 'Leave approved', description: '<div class="gray">2024-05-01</div>', url: 'https://example.com', btntxt: 'More' },
      news: { articles: [{ title: 'N', description: 'D', url: 'https://example.com', picurl: 'https://example.com/p.png' }] },
      mpnews: { articles: [{ title: 'MP', thumb_media_id: 'TH', author: 'A', content_source_url: 'https://x', content: '<p>c</p>', digest: 'd' }] },
      markdown: { content: '**Ticket** `42` closed' },
      miniprogram_notice: { appid: 'wxmini', page: 'pages/i', title: 'Meeting', description: 'Today', content_item: [{ key: 'Room', value: 'A1' }] },
      template_card: { card_type: 'button_interaction', main_title: { title: 'Approve?' }, task_id: 't1', button_list: [{ text: 'OK', key: 'ok' }] },
    };

    it('sends every app message type to users, parties and tags with the node options', async () => {
      await load(wecomAccount(), { to: 'zhangsan|lisi', toType: 'str', toParty: '2', toTag: '5', safe: true, enableDuplicateCheck: true, duplicateCheckInterval: '600' });
      for (const [msgtype, content] of Object.entries(appBodies)) {
        const { out, caught } = await roundTrip({ payload: { msgtype, [msgtype]: content } });
        assert.ok(out, `${msgtype}: ${String(caught?.error.message)}`);
        if (msgtype === 'template_card') assert.match(String((out.payload as { response_code: string }).response_code), /^sbx_rc_/);
      }
      assert.deepEqual(
        sandbox.wecom.messages.map((m) => m.body),
        Object.entries(appBodies).map(([msgtype, content]) => ({
          msgtype,
          [msgtype]: content,
          touser: 'zhangsan|lisi',
          toparty: '2',
          totag: '5',
          agentid: Number(DEMO_WECOM_APP.agentId),
          safe: 1,
          enable_duplicate_check: 1,
          duplicate_check_interval: 600,
        })),
      );
    });

    it('takes an array of user ids and enable_id_trans', async () => {
      await load(wecomAccount(), { to: 'users', toType: 'msg', enableIdTrans: true });
      await roundTrip({ payload: 'hi', users: ['a', 'b'] });
      assert.equal(sandbox.wecom.messages[0].body.touser, 'a|b');
      assert.equal(sandbox.wecom.messages[0].body.enable_id_trans, 1);
    });

    it('reports a partial delivery as a warning and a field', async () => {
      await load(wecomAccount());
      const warned = new Promise<unknown[]>((resolve) => harness.getNode('send').once('call:warn', (call: { args: unknown[] }) => resolve(call.args)));
      const { out } = await roundTrip({ payload: 'hi', to: 'ok|invalidA' });
      assert.deepEqual((out?.payload as { partial: unknown }).partial, { invaliduser: ['invalida'] });
      assert.match(String((await warned)[0]), /not to every recipient: .*invalida/);
      await waitFor(`status fill yellow`, () => lastStatus()?.fill === 'yellow');
    });

    it('uploads a Buffer as a file and sends it', async () => {
      await load(wecomAccount(), { mediaType: 'file' });
      await roundTrip({ payload: Buffer.from('%PDF-1.4 report body'), to: 'u', filename: 'report.pdf' });
      assert.equal(sandbox.wecom.media[0].type, 'file');
      assert.deepEqual(sandbox.wecom.messages[0].body.file, { media_id: sandbox.wecom.media[0].mediaId });
    });

    it('uploads a Buffer of each media type and sends it by media_id', async () => {
      await load(wecomAccount());
      for (const mediaType of ['image', 'voice', 'video', 'file']) {
        const { out, caught } = await roundTrip({ payload: Buffer.alloc(2048, 5), mediaType, to: 'zhangsan' });
        assert.ok(out, `${mediaType}: ${String(caught?.error.message)}`);
      }
      assert.deepEqual(
        sandbox.wecom.media.map((m) => m.type),
        ['image', 'voice', 'video', 'file'],
      );
      assert.deepEqual(
        sandbox.wecom.messages.map((m) => [m.body.msgtype, (m.body[String(m.body.msgtype)] as { media_id: string }).media_id]),
        sandbox.wecom.media.map((m) => [m.type, m.mediaId]),
      );
    });

    it('refuses an oversized file before uploading anything', async () => {
      await load(wecomAccount(), { mediaType: 'file' });
      const { caught } = await roundTrip({ payload: Buffer.alloc(20 * 1024 * 1024 + 1), to: 'u' });
      assert.match(String(caught?.error.message), /file limit is 20971520 bytes/);
      assert.equal(sandbox.wecom.media.length, 0);
      assert.equal(sandbox.wecom.tokenRequestCount, 0);
    });

    it('explains 60020 on Catch', async () => {
      await load(wecomAccount());
      sandbox.wecom.inject({ api: 'message/send', errcode: 60020, errmsg: 'not allow to access from your ip' });
      const { caught } = await roundTrip({ payload: 'hi', to: 'u' });
      assert.match(String(caught?.error.message), /60020.*trusted IP/);
    });
  });

  describe('with a wechat-sap-store node', () => {
    it('keeps the token in the selected SQLite file and reuses it after a redeploy', async () => {
      const store: FlowNode = { id: 'store', type: 'wechat-sap-store', kind: 'sqlite', path: 'custom-store.sqlite' };
      await load(officialAccount(), { store: 'store' }, [store]);
      await roundTrip({ payload: 'one', to: 'u' });
      await harness.unload();
      await load(officialAccount(), { store: 'store' }, [store]);
      await roundTrip({ payload: 'two', to: 'u' });
      assert.ok(existsSync(join(userDir, 'custom-store.sqlite')));
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
      assert.equal(sandbox.wechat.messages.length, 2);
    });

    describe('on PostgreSQL', () => {
      const schema = usePostgresSchema();

      it('keeps the token in the selected PostgreSQL store and reuses it after a redeploy', async () => {
        const store: FlowNode = { id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema };
        const credentials = { ...secret('official'), store: { connectionString: PG_URL } };
        for (const text of ['one', 'two']) {
          await load(officialAccount(), { store: 'store' }, [store], credentials);
          const { out, caught } = await roundTrip({ payload: text, to: 'u' });
          assert.ok(out, String(caught?.error.message));
          await harness.unload();
        }
        assert.equal(sandbox.wechat.tokenRequestCount, 1);
        assert.deepEqual(
          sandbox.wechat.messages.map((m) => (m.body.text as { content: string }).content),
          ['one', 'two'],
        );
        const rows = await withPostgres((pg) => pg.query<{ key: string }>(`SELECT key FROM "${schema}".wxbridge_kv WHERE key LIKE 'token:%'`));
        assert.equal(rows.rowCount, 1);
      });
    });

    it('fails sends clearly when the store configuration is rejected', async () => {
      await load(officialAccount(), { store: 'store' }, [{ id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema: 'Bad-Name' }]);
      const { caught } = await roundTrip({ payload: 'x', to: 'u' });
      assert.match(String(caught?.error.message), /schema "Bad-Name"/);
      assert.equal(sandbox.wechat.messages.length, 0);
    });
  });
});
