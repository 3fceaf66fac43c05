import assert from 'node:assert/strict';
import { ContentKeyError, contentKey } from '../../../lib/common/content-key';

describe('lib/common/content-key', () => {
  it('is the same for the same content in any key order, and differs for any other content', () => {
    const a = contentKey({ b: [1, 'x', { c: null }], a: true });
    assert.equal(a.key, contentKey({ a: true, b: [1, 'x', { c: null }] }).key);
    for (const other of [{ a: true, b: [1, 'x', { c: 0 }] }, { a: true, b: ['x', 1, { c: null }] }, { a: 'true', b: [1, 'x', { c: null }] }, { a: true }]) {
      assert.notEqual(contentKey(other).key, a.key, JSON.stringify(other));
    }
  });

  it('does not confuse a string with the structure it spells', () => {
    assert.notEqual(contentKey({ a: '1', b: '2' }).key, contentKey({ a: '1","b":"2' }).key);
    assert.notEqual(contentKey(['1', '2']).key, contentKey('1,2').key);
    assert.notEqual(contentKey(1).key, contentKey('1').key);
  });

  it('walks half a million levels without recursion, and refuses nesting beyond the limit', () => {
    const deep = JSON.parse('['.repeat(500_000) + ']'.repeat(500_000));
    assert.throws(() => contentKey(deep, 64), ContentKeyError);
    assert.equal(contentKey(JSON.parse('['.repeat(64) + ']'.repeat(64)), 64).size, 128);
    assert.ok(contentKey(deep, 1_000_000).key.length > 0);
  });

  it('reports the size of the canonical form, about that of compact JSON', () => {
    const value = { name: '张三', list: [1, 2, 3], nested: { ok: false } };
    assert.equal(contentKey(value).size, JSON.stringify({ list: [1, 2, 3], name: '张三', nested: { ok: false } }).length);
  });
});
