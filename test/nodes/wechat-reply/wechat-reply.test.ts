import { strict as assert } from 'node:assert';
import type { NodeMessage } from 'node-red';
import type { WeChatMessage } from '../../../nodes/wechat-in/wechat-in';
import { WeChatClientSimulator } from '../../../sandbox/wechat-client';
import { waitFor } from '../../support/flow-watch';
import { NodeRedHarness } from '../../support/node-red-harness';
import { CREDENTIALS, NODES, flow } from '../../support/wechat-inbound-flow';

type Caught = NodeMessage & { error: { message: string; source: { id: string } } };

describe('wechat-reply', () => {
  const harness = new NodeRedHarness();
  let received: WeChatMessage[];
  let caught: Caught[];
  let reply: (msg: WeChatMessage) => void;

  beforeEach(async () => {
    await harness.load(NODES, flow(), CREDENTIALS);
    received = [];
    caught = [];
    reply = () => undefined;
    harness.getNode('sink').on('input', (msg: NodeMessage) => {
      received.push(msg as WeChatMessage);
      reply(msg as WeChatMessage);
    });
    harness.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg as Caught));
  });
  afterEach(() => harness.unload());
  after(() => harness.stop());

  const send = (msg: object) => harness.getNode('reply').receive(msg as NodeMessage);

  it('sends an encrypted image reply to an encrypted message', async () => {
    reply = (msg) => send({ ...msg, payload: { type: 'image', mediaId: 'MEDIA_1' } });
    const result = await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(harness.baseUrl + '/wx/oa', { content: 'pic' });
    assert.equal(result.reply.kind, 'reply');
    if (result.reply.kind !== 'reply') return;
    assert.equal(result.reply.encrypted, true);
    assert.equal(result.reply.msgType, 'image');
    assert.deepEqual(result.reply.fields.Image, { MediaId: 'MEDIA_1' });
  });

  it('a message that did not come from wechat-in is an error Catch nodes see', async () => {
    send({ payload: 'hello' });
    await waitFor('the error at the Catch node', () => caught.length > 0);
    assert.equal(caught.length, 1);
    assert.match(caught[0].error.message, /came from a wechat-in node/);
    assert.equal(caught[0].error.source.id, 'reply');
  });

  it('a malformed payload is an error and the callback still gets an answer at its deadline', async () => {
    reply = (msg) => send({ ...msg, payload: { type: 'music' } });
    const result = await WeChatClientSimulator.demo('wecom').deliver(harness.baseUrl + '/wx/wecom', { content: 'x' });
    assert.deepEqual(result.reply, { kind: 'no-reply', marker: '' });
    assert.equal(caught.length, 1);
    assert.match(caught[0].error.message, /reply type must be one of text, image, voice, video, news for WeCom/);
  });

  it('only the first reply counts; a second one is an error', async () => {
    reply = (msg) => {
      send({ ...msg, payload: 'first' });
      send({ ...msg, payload: 'second' });
    };
    const result = await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(harness.baseUrl + '/wx/plain', { content: 'x' });
    assert.equal(result.reply.kind === 'reply' && result.reply.text, 'first');
    await waitFor('the error at the Catch node', () => caught.length > 0);
    assert.equal(caught.length, 1);
    assert.match(caught[0].error.message, /answered already/);
  });
});
