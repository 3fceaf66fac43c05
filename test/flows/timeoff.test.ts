import { strict as assert } from 'node:assert';
import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { basicHeader } from '../../lib/http/basic-auth';
import { buildXml } from '../../lib/wechat/xml';
import registerApp from '../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import registerRecords from '../../nodes/wechat-sap-records/wechat-sap-records';
import { DEMO_MICRO_APP, demoEnvironment } from '../../sandbox/demo-accounts';
import { demoCredentials } from '../../sandbox/demo-credentials';
import { Sandbox, startSandbox } from '../../sandbox/index';
import { microAppCallbackUrl, PushDelivery } from '../../sandbox/mobile-services/index';
import { WeChatClientSimulator } from '../../sandbox/wechat-client';
import { runShippedFlow, waitFor } from '../support/flow-watch';
import { InstanceSpec, NodeRedInstance } from '../support/node-red-process';
import { readShippedFlow } from '../support/shipped-flow';

const TIMEOFF_NODES = [registerAccount, registerIn, registerReply, registerApp, registerPush, registerRecords];

const REQUESTER = DEMO_MICRO_APP.requester;
const APPROVER = DEMO_MICRO_APP.approver;

interface LeaveRequest {
  id: number;
  requester: string;
  start: string | null;
  end: string | null;
  days: number | null;
  reason: string | null;
  status: 'draft' | 'submitted' | 'approved' | 'rejected';
  decidedBy?: string;
  decisionReason?: string;
  createdAt: string;
  submittedAt?: string;
  decidedAt?: string;
  lang: string;
}

interface TextCard {
  title: string;
  description: string;
  url: string;
  btntxt: string;
}

interface Rest<T = unknown> {
  status: number;
  type: string;
  body: T;
}

/** A user id of its own for a test that needs no push, so no test sees another's draft. */
const someone = () => `U${randomInt(1e6, 1e7)}`;

describe('scenario: TimeOff micro app (flows/timeoff.json)', () => {
  const run = runShippedFlow('timeoff.json', TIMEOFF_NODES);
  const { harness } = run;
  beforeEach(() => run.sandbox.mobileServices.reset());

  before(() => {
    // WeCom calls the stand-in's Message Handler URL; it forwards to this run's Node-RED with the demo's forward login.
    run.sandbox.mobileServices.setMessageHandler({
      url: harness.baseUrl + DEMO_MICRO_APP.handlerPath,
      auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword },
    });
  });

  /**
   * What the user sees in the chat ('' for no reply): the message goes as WeCom sends it,
   * encrypted, to the Mobile Services stand-in, which forwards it to the flow and seals
   * the flow's reply, which the simulator opens and checks as WeCom would.
   */
  async function chat(user: string, text: string): Promise<string> {
    const result = await WeChatClientSimulator.demo('microapp', { user }).deliver(microAppCallbackUrl(run.sandbox.baseUrl), { content: text });
    if (result.reply.kind === 'no-reply') return '';
    assert.equal(result.reply.kind, 'reply', JSON.stringify(result.reply));
    return result.reply.kind === 'reply' ? (result.reply.text ?? '') : '';
  }

  async function rest<T = unknown>(method: string, query = '', body?: unknown, headers: Record<string, string> = {}): Promise<Rest<T>> {
    const init: RequestInit = { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }), ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${harness.baseUrl}/timeoff/leaverequest${query}`, init);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : null) as T };
  }
  const read = async (id: number) => (await rest<LeaveRequest>('GET', `?id=${id}`)).body;

  /**
   * Holds what "Apply the command" sends until `count` messages have been worked out, then
   * lets them all go: so racing commands have all read the store before any writes. The
   * returned function puts the node back.
   */
  function holdApplied(count: number): () => void {
    const apply = harness.getNode('timeoff.apply') as unknown as { send: (msgs: unknown) => void };
    const send = apply.send;
    const held: unknown[] = [];
    apply.send = (msgs: unknown) => {
      held.push(msgs);
      if (held.length === count) held.forEach((m) => send.call(apply, m));
    };
    return () => {
      apply.send = send;
    };
  }

  /** The text cards pushed to `user` so far. */
  const cardsTo = (user: string): TextCard[] =>
    run.sandbox.mobileServices.deliveries
      .filter((d: PushDelivery) => d.target === 'microApp' && (d.body.users as string[]).includes(user))
      .map((d) => ((d.body.notification as { wechat: { textcard: TextCard } }).wechat.textcard));
  const waitForCard = async (user: string): Promise<TextCard> => {
    await waitFor(`a text card to ${user}`, () => cardsTo(user).length > 0);
    return cardsTo(user)[0];
  };
  const draftNumber = (reply: string) => Number(/(?:Draft|草稿) (\d+)/.exec(reply)?.[1]);

  /** The requester's chat from create to submit; resolves with the request's number. */
  async function submitByChat(user: string, lang: 'en' | 'zh' = 'en'): Promise<number> {
    const [create, start, end, reason, submit] = lang === 'en' ? ['create', 'start', 'end', 'reason', 'submit'] : ['创建', '开始', '结束', '原因', '提交'];
    const id = draftNumber(await chat(user, create));
    assert.ok(id > 0);
    await chat(user, `${start} 2024-05-06`);
    await chat(user, `${end} 2024-05-08`);
    await chat(user, `${reason} ${lang === 'en' ? 'Family visit' : '探亲'}`);
    assert.match(await chat(user, submit), new RegExp(`${id}`));
    return id;
  }

  describe('chat', () => {
    it('a request made in English: create, dates, reason, show, submit; the approver gets a text card', async () => {
      const created = await chat(REQUESTER, 'create');
      assert.match(created, /^Draft (\d+) created\. Now send start <date>, end <date> and reason <text>, then submit\.$/);
      const id = draftNumber(created);

      assert.equal(await chat(REQUESTER, 'start 2024-05-06'), `Draft ${id} updated.\nStart: 2024-05-06\nEnd: –\nWorking days: –\nReason: –`);
      assert.equal(await chat(REQUESTER, 'end 2024-05-08'), `Draft ${id} updated.\nStart: 2024-05-06\nEnd: 2024-05-08\nWorking days: 3\nReason: –`);
      assert.equal(
        await chat(REQUESTER, 'reason Family visit'),
        `Draft ${id} updated.\nStart: 2024-05-06\nEnd: 2024-05-08\nWorking days: 3\nReason: Family visit\nSend submit to ask for approval.`,
      );
      assert.match(await chat(REQUESTER, 'show'), new RegExp(`^Draft ${id}\\nStart: 2024-05-06\\n`));
      assert.equal(cardsTo(APPROVER).length, 0, 'nothing is pushed before the submit');

      assert.equal(await chat(REQUESTER, 'submit'), `Request ${id} submitted: ${APPROVER} is asked to approve it.`);
      const card = await waitForCard(APPROVER);
      assert.equal(card.title, `Leave request ${id} from ${REQUESTER}`);
      assert.match(card.description, /2024-05-06 to 2024-05-08, 3 working day\(s\)/);
      assert.match(card.description, /Family visit/);
      assert.match(card.description, new RegExp(`Reply "approve ${id}" or "reject ${id} &lt;reason&gt;"`));
      assert.equal(card.url, `http://127.0.0.1:1880/timeoff/?id=${id}`);
      assert.equal(cardsTo(REQUESTER).length, 0);

      const stored = await read(id);
      assert.deepEqual(
        { ...stored, createdAt: typeof stored.createdAt, submittedAt: typeof stored.submittedAt },
        { id, requester: REQUESTER, start: '2024-05-06', end: '2024-05-08', days: 3, reason: 'Family visit', status: 'submitted', createdAt: 'string', submittedAt: 'string', lang: 'en' },
      );
      assert.equal(await chat(REQUESTER, 'show'), 'You have no draft. Send create to start one.');
    });

    it('the approver approves; the requester gets a text card; a decided request cannot be decided again', async () => {
      const id = await submitByChat(REQUESTER);
      await waitForCard(APPROVER);

      assert.equal(await chat(APPROVER, `approve ${id}`), `You approved request ${id} of ${REQUESTER}; they are told.`);
      const card = await waitForCard(REQUESTER);
      assert.equal(card.title, `Leave request ${id} approved`);
      assert.match(card.description, /Approved by P000002/);
      assert.equal(card.url, `http://127.0.0.1:1880/timeoff/?user=${REQUESTER}`);
      const stored = await read(id);
      assert.deepEqual([stored.status, stored.decidedBy, typeof stored.decidedAt], ['approved', APPROVER, 'string']);

      assert.equal(await chat(APPROVER, `approve ${id}`), `Request ${id} has already been decided.`);
      assert.equal(await chat(APPROVER, `reject ${id} Changed my mind`), `Request ${id} has already been decided.`);
      assert.equal((await read(id)).status, 'approved');
      assert.equal(cardsTo(REQUESTER).length, 1, 'no second decision is pushed');
    });

    it('in Chinese: the answers and both text cards are Chinese, a rejection carries its reason', async () => {
      const id = draftNumber(await chat(REQUESTER, '创建'));
      assert.equal(
        await chat(REQUESTER, `创建`),
        `您已有草稿 ${id}。\n开始：（未填）\n结束：（未填）\n工作日：（未填）\n原因：（未填）`,
        'create while a draft exists shows it',
      );
      assert.match(await chat(REQUESTER, '开始 2024年5月13日'), /^草稿 \d+ 已更新。\n开始：2024-05-13\n/);
      assert.match(await chat(REQUESTER, '结束：2024/5/14'), /工作日：2 天/);
      assert.match(await chat(REQUESTER, '原因 探亲'), /原因：探亲\n发送“提交”即可提交审批。$/);
      assert.equal(await chat(REQUESTER, '提交'), `申请 ${id} 已提交，已请 ${APPROVER} 审批。`);
      const toApprover = await waitForCard(APPROVER);
      assert.equal(toApprover.title, `${REQUESTER} 的请假申请 ${id}`);
      assert.match(toApprover.description, new RegExp(`回复“同意 ${id}”或“拒绝 ${id} 原因”`));
      assert.equal(toApprover.btntxt, '详情');

      assert.equal(await chat(APPROVER, `拒绝 ${id} 当周人手不足`), `您已拒绝 ${REQUESTER} 的申请 ${id}，已通知对方。`);
      const toRequester = await waitForCard(REQUESTER);
      assert.equal(toRequester.title, `请假申请 ${id} 已拒绝`);
      assert.match(toRequester.description, /审批意见：当周人手不足/);
      const stored = await read(id);
      assert.deepEqual([stored.status, stored.decisionReason, stored.lang], ['rejected', '当周人手不足', 'zh']);
    });

    it('only the approver decides: the requester cannot approve their own request', async () => {
      const id = await submitByChat(REQUESTER);
      assert.equal(await chat(REQUESTER, `approve ${id}`), 'Only the approver can approve or reject requests.');
      assert.equal(await chat(REQUESTER, `同意 ${id}`), '只有审批人可以同意或拒绝申请。');
      assert.equal((await read(id)).status, 'submitted');
      assert.equal(await chat(APPROVER, 'approve 999999'), 'There is no request 999999.');
      // Leave no open request behind for the other tests.
      assert.match(await chat(APPROVER, `reject ${id} Not this week`), /You rejected/);
    });

    it('two decisions racing, both read before either is written: the store takes one, the other is told it was already decided', async () => {
      const id = await submitByChat(REQUESTER);
      // The decisions wait until both have been worked out from the same version.
      const release = holdApplied(2);
      const problems: unknown[] = [];
      const storeProblem = harness.getNode('timeoff.store.problem');
      const receive = storeProblem.receive.bind(storeProblem);
      storeProblem.receive = (msg) => {
        problems.push((msg as { error?: { code?: unknown } }).error?.code);
        receive(msg);
      };
      let answers: string[];
      try {
        answers = await Promise.all([chat(APPROVER, `approve ${id}`), chat(APPROVER, `reject ${id} No`)]);
      } finally {
        release();
        storeProblem.receive = receive;
      }
      assert.deepEqual(problems, ['record_conflict'], 'the second write was refused by the store');
      const won = answers.filter((a) => /^You (approved|rejected) request/.test(a));
      assert.equal(won.length, 1, answers.join(' | '));
      assert.ok(answers.includes(`Request ${id} has already been decided.`), answers.join(' | '));
      const stored = await read(id);
      assert.equal(won[0].startsWith(stored.status === 'approved' ? 'You approved' : 'You rejected'), true, `${won[0]} but stored ${stored.status}`);
      await waitForCard(REQUESTER);
      assert.equal(cardsTo(REQUESTER).length, 1, 'the requester hears of one decision');
      assert.equal(cardsTo(REQUESTER)[0].title, `Leave request ${id} ${stored.status}`);
    });

    it('two creates at once, chat and page, both read before either is written: the store makes one draft, the other is told of it', async () => {
      const user = someone();
      // The new drafts wait until both have been worked out with no draft seen.
      const release = holdApplied(2);
      let answers: [string, Rest<{ id: number; error?: string }>];
      try {
        answers = await Promise.all([chat(user, 'create'), rest<{ id: number; error?: string }>('POST', '', { requester: user })]);
      } finally {
        release();
      }
      const [chatted, posted] = answers;
      const drafts = (await rest<LeaveRequest[]>('GET', `?user=${user}`)).body.filter((r) => r.status === 'draft');
      assert.equal(drafts.length, 1, `one draft: ${chatted} | ${JSON.stringify(posted)}`);
      const id = drafts[0].id;
      const chatWon = chatted.startsWith(`Draft ${id} created.`);
      if (chatWon) assert.deepEqual([posted.status, posted.body], [409, { error: `You already have draft ${id}.`, field: 'requester', id }]);
      else assert.deepEqual([chatted, posted.status, posted.body.id], [`You already have draft ${id}.`, 201, id]);
    });

    it('dates are checked: not a date, end before start, a weekend only; submit needs everything', async () => {
      const user = someone();
      assert.equal(await chat(user, 'start 2024-05-06'), 'You have no draft. Send create to start one.');
      await chat(user, 'create');
      assert.equal(await chat(user, 'start 2024-02-30'), 'start date: "2024-02-30" is not a date. Write it like 2024-05-06.');
      assert.equal(await chat(user, '结束 明天'), '结束日期“明天”不是有效日期，请按 2024-05-06 的格式填写。');
      await chat(user, 'start 2024-05-10');
      assert.equal(await chat(user, 'end 2024-05-06'), 'The end date 2024-05-06 is before the start date 2024-05-10.');
      await chat(user, 'start 2024-05-11');
      assert.equal(await chat(user, 'end 2024-05-12'), '2024-05-11 to 2024-05-12 has no working day: there is nothing to take off.');
      assert.match(await chat(user, 'end 2024-05-13'), /Working days: 1/);
      assert.equal(await chat(user, 'submit'), 'Set the reason before you submit.');
      assert.equal(await chat(user, 'start'), 'Write it after the command, for example: start 2024-05-06');
      assert.equal(await chat(user, 'reject 1'), 'Give a reason when you reject, for example: reject 1 The team is fully booked that week');
      const [draft] = (await rest<LeaveRequest[]>('GET', `?user=${user}`)).body;
      assert.deepEqual([draft.start, draft.end, draft.days, draft.status], ['2024-05-11', '2024-05-13', 1, 'draft'], 'refused changes are not stored');
    });

    it('the message handler lets in only the forward login: a plain message without it is refused, nothing answered', async () => {
      const xml = buildXml(
        { ToUserName: DEMO_MICRO_APP.corpId, FromUserName: REQUESTER, CreateTime: Math.floor(Date.now() / 1000), MsgType: 'text', Content: 'create', MsgId: '1', AgentID: DEMO_MICRO_APP.agentId },
        'xml',
        new Set(['MsgId', 'AgentID']),
      );
      for (const authorization of [undefined, basicHeader(DEMO_MICRO_APP.forwardUser, 'wrong')]) {
        const res = await fetch(harness.baseUrl + DEMO_MICRO_APP.handlerPath, { method: 'POST', headers: { 'content-type': 'text/xml', ...(authorization ? { authorization } : {}) }, body: xml });
        assert.equal(res.status, 401);
      }
      assert.deepEqual((await rest<LeaveRequest[]>('GET', `?user=${REQUESTER}`)).body.filter((r) => r.status === 'draft'), []);
    });

    it('anything else gets a short help, in the language of the text', async () => {
      assert.match(await chat(someone(), 'hello'), /^TimeOff commands:\ncreate – start a leave request\n/);
      assert.match(await chat(someone(), '你好'), /^请假助手指令：\n创建 – 新建请假申请\n/);
    });
  });

  describe('REST', () => {
    it('GET /timeoff/welcome greets, in Chinese for Accept-Language zh', async () => {
      const en = await fetch(`${harness.baseUrl}/timeoff/welcome`);
      assert.equal(en.status, 200);
      assert.match(en.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await en.text(), /^Welcome to TimeOff!/);
      const zh = await fetch(`${harness.baseUrl}/timeoff/welcome`, { headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
      assert.match(await zh.text(), /^欢迎使用请假助手/);
    });

    it('POST creates a draft, PUT fills it in and submits it, GET reads and lists', async () => {
      const user = someone();
      const created = await rest<LeaveRequest>('POST', '', { requester: user, start: '2024-06-03' });
      assert.equal(created.status, 201);
      assert.match(created.type, /^application\/json/);
      assert.deepEqual(
        { ...created.body, createdAt: typeof created.body.createdAt },
        { id: created.body.id, requester: user, start: '2024-06-03', end: null, days: null, reason: null, status: 'draft', createdAt: 'string', lang: 'en' },
      );
      const { id } = created.body;
      const changed = await rest<LeaveRequest>('PUT', '', { id, end: '2024-06-07', reason: 'Moving house' });
      assert.equal(changed.status, 200);
      assert.deepEqual([changed.body.days, changed.body.reason, changed.body.status], [5, 'Moving house', 'draft']);
      assert.deepEqual(await read(id), changed.body);

      const submitted = await rest<LeaveRequest>('PUT', '', { id: String(id), submit: true });
      assert.deepEqual([submitted.status, submitted.body.status], [200, 'submitted']);
      const card = await waitForCard(APPROVER);
      assert.equal(card.title, `Leave request ${id} from ${user}`);

      const second = await rest<LeaveRequest>('POST', '', { requester: user, start: '2024-07-01', end: '2024-07-01', reason: 'Dentist', submit: true });
      assert.deepEqual([second.status, second.body.status, second.body.days], [201, 'submitted', 1]);
      await waitFor('the second card', () => cardsTo(APPROVER).length === 2);

      const list = await rest<LeaveRequest[]>('GET', `?user=${user}`);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.map((r) => [r.id, r.status]),
        [
          [second.body.id, 'submitted'],
          [id, 'submitted'],
        ],
        'newest first',
      );
      assert.deepEqual((await rest<LeaveRequest[]>('GET', `?user=${someone()}`)).body, []);
    });

    it('a user has one draft: a second POST is 409 naming it; a request that is no draft cannot be changed', async () => {
      const user = someone();
      const { body: draft } = await rest<LeaveRequest>('POST', '', { requester: user });
      const again = await rest('POST', '', { requester: user, reason: 'x' });
      assert.deepEqual(again, { status: 409, type: again.type, body: { error: `You already have draft ${draft.id}.`, field: 'requester', id: draft.id } });
      await rest('PUT', '', { id: draft.id, start: '2024-06-03', end: '2024-06-03', reason: 'x', submit: true });
      const late = await rest('PUT', '', { id: draft.id, reason: 'y' });
      assert.deepEqual([late.status, late.body], [409, { error: `Request ${draft.id} is waiting for approval: only a draft can be changed.`, id: draft.id }]);
      assert.deepEqual(await rest('PUT', '', { id: 999999, reason: 'y' }).then((r) => [r.status, r.body]), [404, { error: 'There is no request 999999.' }]);
      assert.deepEqual(await rest('GET', '?id=999999').then((r) => [r.status, r.body]), [404, { error: 'There is no request 999999.' }]);
    });

    it('validates the JSON field by field: 400 naming the field, 415 for a body that is not JSON', async () => {
      const user = someone();
      const cases: [string, string, unknown, number, object][] = [
        ['POST', '', { start: '2024-06-03' }, 400, { error: 'requester is required.', field: 'requester' }],
        ['POST', '', { requester: 'a b' }, 400, { error: 'requester must be a WeCom user ID (letters, digits, _ - . @; at most 64).', field: 'requester' }],
        ['POST', '', { requester: user, days: 3 }, 400, { error: 'Unknown field days.', field: 'days' }],
        ['POST', '', { requester: user, start: 20240603 }, 400, { error: 'start must be a string (or null).', field: 'start' }],
        ['POST', '', { requester: user, submit: 'yes' }, 400, { error: 'submit must be true or false.', field: 'submit' }],
        ['POST', '', { requester: user, start: '2024-06-31' }, 400, { error: 'start: "2024-06-31" is not a date. Write it like 2024-05-06.', field: 'start' }],
        ['POST', '', { requester: user, start: '2024-06-07', end: '2024-06-03' }, 400, { error: 'The end date 2024-06-03 is before the start date 2024-06-07.', field: 'end' }],
        ['POST', '', { requester: user, start: '2024-06-08', end: '2024-06-09' }, 400, { error: '2024-06-08 to 2024-06-09 has no working day: there is nothing to take off.', field: 'end' }],
        ['POST', '', { requester: user, start: '2024-06-03', end: '2024-06-03', submit: true }, 400, { error: 'Set the reason before you submit.', field: 'reason' }],
        ['POST', '', [{ requester: user }], 400, { error: 'The body must be a JSON object.' }],
        ['PUT', '', { reason: 'x' }, 400, { error: 'id is required.', field: 'id' }],
        ['PUT', '', { id: 'three' }, 400, { error: 'id must be the number of a request.', field: 'id' }],
        ['PUT', '', { id: 1, requester: user }, 400, { error: 'Unknown field requester.', field: 'requester' }],
        ['GET', '', undefined, 400, { error: 'Ask with ?user=<user ID> or ?id=<number>.', field: 'user' }],
        ['GET', '?id=0', undefined, 400, { error: 'id must be the number of a request.', field: 'id' }],
      ];
      for (const [method, query, body, status, answer] of cases) {
        const res = await rest(method, query, body);
        assert.deepEqual([res.status, res.body], [status, answer], `${method} ${query} ${JSON.stringify(body)}`);
        assert.match(res.type, /^application\/json/);
      }
      for (const [type, body] of [
        ['text/plain', JSON.stringify({ requester: user })],
        ['application/x-www-form-urlencoded', `requester=${user}`],
      ]) {
        const res = await rest('POST', '', body, { 'content-type': type });
        assert.deepEqual([res.status, res.body], [415, { error: 'Send the body as JSON (Content-Type: application/json).' }], type);
      }
      // The flow reads the body itself: what Node-RED's JSON parser would answer with 500 is a 4xx here.
      for (const [body, status, error] of [
        [`{"requester": "${user}"`, 400, 'The body is not valid JSON.'],
        ['', 400, 'The body is not valid JSON.'],
        ['42', 400, 'The body must be a JSON object.'],
        ['"text"', 400, 'The body must be a JSON object.'],
        [JSON.stringify({ requester: user, reason: 'x'.repeat(17_000) }), 413, 'The body is larger than 16 KB.'],
      ] as const) {
        const res = await rest('POST', '', body);
        assert.deepEqual([res.status, res.body], [status, { error }], body.slice(0, 40));
      }
      assert.deepEqual((await rest<LeaveRequest[]>('GET', `?user=${user}`)).body, [], 'nothing was created');
    });

    it('answers errors in Chinese for Accept-Language zh, with the JSON field names', async () => {
      const res = await rest('POST', '', { requester: someone(), start: '2024-06-07', end: '2024/6/3' }, { 'accept-language': 'zh-CN' });
      assert.deepEqual([res.status, res.body], [400, { error: '结束日期 2024-06-03 早于开始日期 2024-06-07。', field: 'end' }]);
      const missing = await rest('POST', '', {}, { 'accept-language': 'zh' });
      assert.deepEqual(missing.body, { error: '缺少字段 requester。', field: 'requester' });
    });

    it('answers JSON, never JSONP, whatever the query says', async () => {
      const res = await fetch(`${harness.baseUrl}/timeoff/leaverequest?user=${someone()}&callback=alert`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(await res.text(), '[]');
    });
  });

  describe('page', () => {
    it('is served at /timeoff/ and /timeoff/index.html: one phone-sized HTML page calling the REST routes by relative path', async () => {
      for (const path of ['/timeoff/', '/timeoff/index.html']) {
        const res = await fetch(harness.baseUrl + path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
        const html = await res.text();
        assert.match(html, /<meta name="viewport" content="width=device-width/);
        assert.match(html, /var api = base \+ 'leaverequest';/);
        assert.match(html, /call\(draftId \? 'PUT' : 'POST'/);
        assert.match(html, /'\?user=' \+ encodeURIComponent/);
        assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing is loaded from elsewhere');
        assert.doesNotMatch(html, /fetch\(['"]\//, 'no absolute paths: it must work behind the Mobile Services destination too');
      }
    });
  });
});

describe('scenario: TimeOff requests survive a restart (a whole Node-RED, default settings, over its user directory)', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let nr: NodeRedInstance | undefined;
  let userDir: string | undefined;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  after(async () => {
    await nr?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
    await sandbox?.close();
  });

  const post = async (path: string, body: string, type = 'application/json') => {
    const res = await fetch(nr!.url(path), { method: 'POST', headers: { 'content-type': type }, body });
    return { status: res.status, body: await res.text() };
  };
  const list = async (user: string) => (await (await fetch(nr!.url(`/timeoff/leaverequest?user=${user}`))).json()) as { id: number; status: string; reason: string }[];

  it('a request created through REST is still listed after Node-RED restarts, and numbering goes on', async () => {
    const flows = readShippedFlow('timeoff.json');
    const spec: InstanceSpec = { flows, credentials: demoCredentials(flows), env: demoEnvironment(sandbox.baseUrl), readyPath: '/timeoff/welcome' };
    nr = await NodeRedInstance.start(spec);
    const created = await post('/timeoff/leaverequest', JSON.stringify({ requester: 'P000007', start: '2024-06-03', end: '2024-06-04', reason: 'Before the restart' }));
    assert.equal(created.status, 201, created.body);
    const { id } = JSON.parse(created.body) as { id: number };
    // Node-RED's own JSON parser refuses a malformed body before the flow, with a 4xx.
    assert.equal((await post('/timeoff/leaverequest', '{"requester": ')).status, 400);

    userDir = nr.keepUserDir();
    await nr.stop();
    nr = await NodeRedInstance.start({ ...spec, userDir });

    assert.deepEqual(
      (await list('P000007')).map((r) => [r.id, r.status, r.reason]),
      [[id, 'draft', 'Before the restart']],
    );
    const next = await post('/timeoff/leaverequest', JSON.stringify({ requester: 'P000008' }));
    assert.equal((JSON.parse(next.body) as { id: number }).id, id + 1);

    // The chat sees the same draft: through the Mobile Services stand-in, as WeCom would send it.
    sandbox.mobileServices.setMessageHandler({
      url: nr.url(DEMO_MICRO_APP.handlerPath),
      auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword },
    });
    const result = await WeChatClientSimulator.demo('microapp', { user: 'P000007' }).deliver(microAppCallbackUrl(sandbox.baseUrl), { content: 'show' });
    assert.equal(result.reply.kind === 'reply' && result.reply.text, `Draft ${id}\nStart: 2024-06-03\nEnd: 2024-06-04\nWorking days: 2\nReason: Before the restart\nSend submit to ask for approval.`);
  });
});
