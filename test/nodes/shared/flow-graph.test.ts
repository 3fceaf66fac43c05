import assert from 'node:assert/strict';
import { FlowNodeConfig, reachesType } from '../../../nodes/shared/flow-graph';

const node = (id: string, type: string, wires: string[][] = [], extra: Partial<FlowNodeConfig> = {}): FlowNodeConfig => ({ id, type, z: 'tab', wires, ...extra });

describe('nodes/shared/flow-graph', () => {
  it('follows wires to the target type, and says unreachable when nothing leads there', () => {
    const flow = [node('in', 'wechat-in', [['fn']]), node('fn', 'function', [['out'], ['reply']]), node('out', 'debug'), node('reply', 'wechat-reply')];
    assert.equal(reachesType(flow, 'in', 'wechat-reply'), 'reachable');
    const unwired = [node('in', 'wechat-in', [['fn']]), node('fn', 'function', [['out']]), node('out', 'debug'), node('reply', 'wechat-reply')];
    assert.equal(reachesType(unwired, 'in', 'wechat-reply'), 'unreachable');
  });

  it('follows link out to link in, link call to its target and back, and treats dynamic links as reaching anything', () => {
    const viaLink = [node('in', 'wechat-in', [['lo']]), node('lo', 'link out', [], { mode: 'link', links: ['li'] }), node('li', 'link in', [['reply']], { z: 'other' }), node('reply', 'wechat-reply', [], { z: 'other' })];
    assert.equal(reachesType(viaLink, 'in', 'wechat-reply'), 'reachable');
    const viaCall = [node('in', 'wechat-in', [['call']]), node('call', 'link call', [['reply']], { linkType: 'static', links: ['li'] }), node('li', 'link in', [['ret']]), node('ret', 'link out', [], { mode: 'return' }), node('reply', 'wechat-reply')];
    assert.equal(reachesType(viaCall, 'in', 'wechat-reply'), 'reachable');
    const dynamic = [node('in', 'wechat-in', [['lo']]), node('lo', 'link out', [], { mode: 'link', links: [] })];
    assert.equal(reachesType(dynamic, 'in', 'wechat-reply'), 'reachable');
  });

  it('counts a reply behind a Catch node watching a node on the way, and one inside a subflow', () => {
    const caught = [node('in', 'wechat-in', [['fn']]), node('fn', 'function'), node('catch', 'catch', [['reply']], { scope: ['fn'] }), node('reply', 'wechat-reply')];
    assert.equal(reachesType(caught, 'in', 'wechat-reply'), 'reachable');
    const elsewhere = [node('in', 'wechat-in', [['fn']]), node('fn', 'function'), node('catch', 'catch', [['reply']], { scope: ['other'] }), node('reply', 'wechat-reply')];
    assert.equal(reachesType(elsewhere, 'in', 'wechat-reply'), 'unreachable');
    const subflow = [node('in', 'wechat-in', [['inst']]), node('inst', 'subflow:sf1'), node('inner', 'wechat-reply', [], { z: 'sf1' })];
    assert.equal(reachesType(subflow, 'in', 'wechat-reply'), 'reachable');
  });

  it('survives cycles and a start node it does not know (then it assumes reachable)', () => {
    const loop = [node('in', 'wechat-in', [['a']]), node('a', 'function', [['b']]), node('b', 'function', [['a']])];
    assert.equal(reachesType(loop, 'in', 'wechat-reply'), 'unreachable');
    assert.equal(reachesType(loop, 'missing', 'wechat-reply'), 'reachable');
  });
});
