/**
 * The function nodes of flows/timeoff.json on their own: the chat command parser and
 * the date check / working-day counter, each run as shipped (with its tab's settings)
 * by Node-RED's function node, its outputs caught by helper nodes.
 */
import { strict as assert } from 'node:assert';
import type { NodeMessage } from 'node-red';
import type { FlowNode } from '../support/node-red-harness';
import { NodeRedHarness } from '../support/node-red-harness';
import { loadShippedFlow, readShippedFlow } from '../support/shipped-flow';

type Msg = NodeMessage & Record<string, unknown>;

interface Ran {
  /** The output the message left on (0-based). */
  port: number;
  msg: Msg;
}

const FUNCTIONS = ['timeoff.chat.parse', 'timeoff.check'];

/** A value made in the function node's sandbox, as plain data (its objects have the sandbox's prototypes). */
function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** The tab and the named function nodes of the shipped flow, each output wired to a helper node. */
function functionsOnly(holidays: string): FlowNode[] {
  const shipped = readShippedFlow('timeoff.json');
  const tab = shipped.find((n) => n.type === 'tab') as FlowNode & { env: { name: string; value: string }[] };
  const env = tab.env.map((e) => (e.name === 'TIMEOFF_HOLIDAYS' ? { ...e, value: holidays } : e));
  const nodes: FlowNode[] = [{ ...tab, env }];
  for (const id of FUNCTIONS) {
    const fn = shipped.find((n) => n.id === id) as FlowNode & { outputs: number };
    const outs = Array.from({ length: fn.outputs }, (_, port) => `${id}.out${port}`);
    nodes.push({ ...fn, g: undefined, wires: outs.map((out) => [out]) });
    for (const out of outs) nodes.push({ id: out, type: 'helper', z: tab.id });
  }
  return nodes;
}

describe('flows/timeoff.json: the function nodes on their own', () => {
  const harness = new NodeRedHarness();
  /** Where the message of the running call goes: one listener per helper node, set once. */
  let delivered: ((ran: Ran) => void) | null = null;
  before(async () => {
    await loadShippedFlow(harness, [], functionsOnly('2024-05-01, 2024-05-02'));
    for (const id of FUNCTIONS) {
      const outputs = (harness.getNode(id) as unknown as { wires: string[][] }).wires.length;
      for (let port = 0; port < outputs; port++) {
        harness.getNode(`${id}.out${port}`).on('input', (msg: Msg) => delivered?.({ port, msg }));
      }
    }
  });
  after(() => harness.stop());

  /** Sends `msg` into function node `id`; resolves with the output it came out of. */
  function run(id: string, msg: Msg): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} sent nothing`)), 2000);
      delivered = (ran) => {
        clearTimeout(timer);
        delivered = null;
        resolve(ran);
      };
      harness.getNode(id).receive(msg);
    });
  }

  describe('Parse the chat command', () => {
    const chat = async (payload: Record<string, string>) => {
      const { msg } = await run('timeoff.chat.parse', { payload, wechat: { from: 'P000001' } } as Msg);
      return { timeoff: plain(msg.timeoff as Record<string, unknown>), outcome: plain(msg.outcome as { code: string; params: Record<string, unknown> } | undefined) };
    };
    const text = (Content: string) => chat({ MsgType: 'text', Content });

    it('reads the English commands, in any case, and answers them in English', async () => {
      assert.deepEqual(await text('create'), { timeoff: { channel: 'chat', user: 'P000001', lang: 'en', action: 'create', changes: {} }, outcome: undefined });
      assert.deepEqual((await text('Start 2024-05-06')).timeoff, { channel: 'chat', user: 'P000001', lang: 'en', action: 'change', changes: { start: '2024-05-06' } });
      assert.deepEqual((await text('END: 2024-05-08')).timeoff.changes, { end: '2024-05-08' });
      assert.deepEqual((await text('reason  Family visit ')).timeoff.changes, { reason: 'Family visit' });
      assert.equal((await text('show')).timeoff.action, 'show');
      assert.deepEqual((await text('submit')).timeoff, { channel: 'chat', user: 'P000001', lang: 'en', action: 'change', changes: {}, submit: true });
      assert.deepEqual((await text('APPROVE 3')).timeoff, { channel: 'chat', user: 'P000001', lang: 'en', action: 'decide', id: 3, decision: 'approved' });
      const reject = (await text('reject #12 The team is fully booked')).timeoff;
      assert.deepEqual([reject.id, reject.decision, reject.decisionReason], [12, 'rejected', 'The team is fully booked']);
    });

    it('reads the Chinese commands, with or without a space or colon, and answers them in Chinese', async () => {
      assert.deepEqual(await text('创建'), { timeoff: { channel: 'chat', user: 'P000001', lang: 'zh', action: 'create', changes: {} }, outcome: undefined });
      for (const command of ['开始 2024年5月6日', '开始：2024年5月6日', '开始2024年5月6日']) {
        assert.deepEqual((await text(command)).timeoff.changes, { start: '2024年5月6日' }, command);
      }
      assert.deepEqual((await text('结束 2024-05-08')).timeoff.changes, { end: '2024-05-08' });
      assert.deepEqual((await text('原因：探亲')).timeoff.changes, { reason: '探亲' });
      assert.equal((await text('查看')).timeoff.action, 'show');
      assert.equal((await text('提交')).timeoff.submit, true);
      const approve = (await text('同意3')).timeoff;
      assert.deepEqual([approve.lang, approve.id, approve.decision], ['zh', 3, 'approved']);
      const reject = (await text('拒绝 4，当周人手不足')).timeoff;
      assert.deepEqual([reject.id, reject.decision, reject.decisionReason], [4, 'rejected', '当周人手不足']);
    });

    it('answers a command missing its argument at once, naming what is missing', async () => {
      assert.deepEqual((await text('start')).outcome, { code: 'missing_argument', params: { field: 'start' } });
      assert.deepEqual((await text('原因')).outcome, { code: 'missing_argument', params: { field: 'reason' } });
      assert.deepEqual((await text('approve soon')).outcome, { code: 'missing_id', params: {} });
      assert.deepEqual((await text('reject 3')).outcome, { code: 'missing_decision_reason', params: { id: 3 } });
      assert.equal((await text('reject 3')).timeoff.action, undefined, 'nothing is decided');
    });

    it('answers anything else with the help: in the language of the text, or both for pictures and opening the app', async () => {
      assert.deepEqual(await text('what can you do?'), { timeoff: { channel: 'chat', user: 'P000001', lang: 'en' }, outcome: { code: 'help', params: {} } });
      assert.equal((await text('你好')).timeoff.lang, 'zh');
      assert.equal((await text('startdate')).outcome?.code, 'help');
      assert.deepEqual((await chat({ MsgType: 'image', PicUrl: 'http://x/y.png' })).outcome, { code: 'help', params: {} });
      assert.equal((await chat({ MsgType: 'image' })).timeoff.lang, 'both');
      assert.equal((await chat({ MsgType: 'event', Event: 'enter_agent' })).outcome?.code, 'help');
      assert.equal((await chat({ MsgType: 'event', Event: 'click', EventKey: 'x' })).outcome?.code, 'silent');
    });
  });

  describe('Check dates, count working days', () => {
    type Outcome = { code: string; field?: string; params: Record<string, unknown> };
    const check = async (record: Record<string, unknown>, changes: Record<string, unknown> = {}, code = 'draft_updated') => {
      const full = { id: 1, requester: 'P000001', start: null, end: null, days: null, reason: null, status: 'draft', ...record };
      const ran = await run('timeoff.check', { payload: null, outcome: { code, params: {} }, timeoff: { record: full, changes } } as Msg);
      return ran.port === 0 ? { ok: plain(ran.msg.payload as Record<string, unknown>) } : { refused: plain(ran.msg.outcome as Outcome) };
    };
    const days = async (start: string, end: string) => (await check({ start, end })).ok?.days;

    it('counts Monday to Friday, both ends included', async () => {
      assert.equal(await days('2024-05-06', '2024-05-10'), 5, 'Monday to Friday');
      assert.equal(await days('2024-05-10', '2024-05-13'), 2, 'Friday to Monday');
      assert.equal(await days('2024-05-04', '2024-05-19'), 10, 'two weeks from a Saturday to a Sunday');
      assert.equal(await days('2024-05-08', '2024-05-08'), 1, 'one day');
    });

    it("leaves out the tab's TIMEOFF_HOLIDAYS", async () => {
      assert.equal(await days('2024-04-29', '2024-05-03'), 3, 'Monday to Friday with May 1 and 2 off');
    });

    it('reads the usual ways of writing a date and stores YYYY-MM-DD', async () => {
      const { ok } = await check({ start: '2024年5月6日', end: '2024/5/8' });
      assert.deepEqual([ok?.start, ok?.end, ok?.days], ['2024-05-06', '2024-05-08', 3]);
      assert.deepEqual((await check({ start: '2024.05.06' })).ok?.start, '2024-05-06');
    });

    it('keeps days empty until both dates are set', async () => {
      assert.deepEqual((await check({ start: '2024-05-06' })).ok, { id: 1, requester: 'P000001', start: '2024-05-06', end: null, days: null, reason: null, status: 'draft' });
    });

    it('refuses what is not a date, naming the field', async () => {
      for (const value of ['2024-02-30', 'tomorrow', '2024-13-01', '06.05.2024']) {
        assert.deepEqual((await check({ start: '2024-05-06', end: value }, { end: value })).refused, { code: 'invalid_date', field: 'end', params: { field: 'end', value } }, value);
      }
    });

    it('refuses an end before the start, naming the date just set', async () => {
      const refused = (await check({ start: '2024-05-10', end: '2024-05-06' }, { end: '2024-05-06' })).refused;
      assert.deepEqual(refused, { code: 'end_before_start', field: 'end', params: { field: 'end', start: '2024-05-10', end: '2024-05-06' } });
      assert.equal((await check({ start: '2024-05-10', end: '2024-05-06' }, { start: '2024-05-10' })).refused?.field, 'start');
    });

    it('refuses a range without a working day: a weekend, or holidays', async () => {
      assert.equal((await check({ start: '2024-05-04', end: '2024-05-05' })).refused?.code, 'no_working_day');
      assert.equal((await check({ start: '2024-05-01', end: '2024-05-02' })).refused?.code, 'no_working_day');
    });

    it('refuses more than 366 days and a reason longer than 500 characters', async () => {
      assert.equal((await check({ start: '2024-01-01', end: '2025-01-01' })).refused?.code, 'range_too_long');
      assert.equal((await check({ start: '2024-01-01', end: '2024-12-31' })).ok?.days, 262 - 2, 'a leap year of working days, less the two holidays');
      assert.deepEqual((await check({ reason: 'x'.repeat(501) })).refused, { code: 'reason_too_long', field: 'reason', params: { field: 'reason', max: 500 } });
    });

    it('a request being submitted needs both dates and a reason', async () => {
      const submitting = (record: Record<string, unknown>) => check({ status: 'submitted', ...record }, {}, 'submitted');
      assert.equal((await submitting({ start: '2024-05-06', end: '2024-05-06' })).refused?.field, 'reason');
      assert.equal((await submitting({ start: '2024-05-06', reason: 'Family visit' })).refused?.field, 'end');
      assert.equal((await submitting({ start: '2024-05-06', end: '2024-05-06', reason: '  ' })).refused?.field, 'reason', 'a blank reason is none');
      assert.equal((await submitting({ start: '2024-05-06', end: '2024-05-06', reason: ' Family visit ' })).ok?.reason, 'Family visit');
    });
  });
});
