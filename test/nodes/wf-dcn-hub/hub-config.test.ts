import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubConfigProblem, parseMbos, parseSenders } from '../../../nodes/wf-dcn-hub/hub-config';

function problemOf(fn: () => unknown): HubConfigProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HubConfigProblem, `a HubConfigProblem, not ${String(err)}`);
    return err;
  }
  assert.fail('no problem was found');
}

describe('wf-dcn-hub configuration', () => {
  describe('senders', () => {
    it('reads the list the editor writes, trimming names and keeping passwords as they are', () => {
      const senders = parseSenders(JSON.stringify([
        { user: ' backend ', password: ' pw with spaces ', security: 'travel', admin: false },
        { user: 'ops', password: 'x', security: 'admin', admin: true },
      ]));
      assert.deepEqual(senders, [
        { user: 'backend', password: ' pw with spaces ', security: 'travel', admin: false },
        { user: 'ops', password: 'x', security: 'admin', admin: true },
      ]);
    });

    it('makes senders of the admin and default configurations admins unless told otherwise', () => {
      const senders = parseSenders(JSON.stringify([
        { user: 'a', password: 'p', security: 'admin' },
        { user: 'd', password: 'p', security: 'default' },
        { user: 't', password: 'p', security: 'travel' },
        { user: 'n', password: 'p', security: 'default', admin: false },
      ]));
      assert.deepEqual(senders.map((s) => s.admin), [true, true, false, false]);
    });

    it('takes one user in several security configurations', () => {
      const senders = parseSenders(JSON.stringify([
        { user: 'erp', password: 'p1', security: 'travel' },
        { user: 'erp', password: 'p2', security: 'leave' },
      ]));
      assert.deepEqual(senders.map((s) => `${s.user}@${s.security}`), ['erp@travel', 'erp@leave']);
    });

    it('has no sender for empty text', () => {
      assert.deepEqual(parseSenders(undefined), []);
      assert.deepEqual(parseSenders('  '), []);
      assert.deepEqual(parseSenders('[]'), []);
    });

    it('names the row and field of a problem, never a value', () => {
      const secret = 'do-not-show-me';
      const cases: Array<[string, string, Record<string, unknown>]> = [
        [`{"user":"a","password":"${secret}"`, 'sendersNotJson', {}],
        [JSON.stringify({ user: 'a', password: secret }), 'sendersNotList', {}],
        [JSON.stringify([{ user: 'a', password: secret, security: 's' }, 'x']), 'senderNotObject', { row: 2 }],
        [JSON.stringify([{ user: '', password: secret, security: 's' }]), 'senderField', { row: 1, field: 'user' }],
        [JSON.stringify([{ user: 'a:b', password: secret, security: 's' }]), 'senderField', { row: 1, field: 'user' }],
        [JSON.stringify([{ user: 'a', password: '', security: 's' }]), 'senderField', { row: 1, field: 'password' }],
        [JSON.stringify([{ user: 'a', password: secret }]), 'senderField', { row: 1, field: 'security' }],
        [JSON.stringify([{ user: 'a', password: secret, security: 's', admin: 'yes' }]), 'senderField', { row: 1, field: 'admin' }],
        [JSON.stringify([{ user: 'a', password: secret, security: 's' }, { user: 'a', password: 'q', security: 's' }]), 'senderTwice', { row: 2 }],
      ];
      for (const [text, code, params] of cases) {
        const problem = problemOf(() => parseSenders(text));
        assert.equal(problem.code, code, text);
        assert.deepEqual(problem.params, params, text);
        assert.doesNotMatch(problem.message, new RegExp(secret));
      }
    });
  });

  describe('MBO definitions', () => {
    it('reads arrays and comma-separated lists, drops a package version and repeated names', () => {
      const mbos = parseMbos(JSON.stringify([
        { package: 'travel:1.0', name: 'Trip', keys: ['tripId'], attributes: ['status', 'status', 'changedAt'] },
        { package: 'travel', name: 'Leg', keys: 'tripId, legNo', attributes: '' },
        { package: 'leave', name: 'Request', keys: ['requestId'] },
      ]));
      assert.deepEqual(mbos, [
        { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: ['status', 'changedAt'] },
        { package: 'travel', name: 'Leg', keys: ['tripId', 'legNo'], attributes: [] },
        { package: 'leave', name: 'Request', keys: ['requestId'], attributes: [] },
      ]);
    });

    it('names the row and field that is wrong', () => {
      const cases: Array<[string, string, Record<string, unknown>]> = [
        ['[{', 'mbosNotJson', {}],
        ['{}', 'mbosNotList', {}],
        ['[null]', 'mboNotObject', { row: 1 }],
        [JSON.stringify([{ name: 'Trip', keys: ['id'] }]), 'mboField', { row: 1, field: 'package' }],
        [JSON.stringify([{ package: 'p', name: 'has space', keys: ['id'] }]), 'mboField', { row: 1, field: 'name' }],
        [JSON.stringify([{ package: 'p', name: 'Trip', keys: [] }]), 'mboField', { row: 1, field: 'keys' }],
        [JSON.stringify([{ package: 'p', name: 'Trip', keys: ' , ' }]), 'mboField', { row: 1, field: 'keys' }],
        [JSON.stringify([{ package: 'p', name: 'Trip', keys: ['id'], attributes: [1] }]), 'mboField', { row: 1, field: 'attributes' }],
        [JSON.stringify([{ package: 'p', name: 'Trip', keys: ['id'] }, { package: 'p:2', name: 'Trip', keys: ['id'] }]), 'mboTwice', { row: 2, mbo: 'Trip' }],
        [JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ package: 'p', name: `M${i}`, keys: ['id'] }))), 'tooMany', { max: 1000 }],
      ];
      for (const [text, code, params] of cases) {
        const problem = problemOf(() => parseMbos(text));
        assert.equal(problem.code, code, text.slice(0, 80));
        assert.deepEqual(problem.params, params, text.slice(0, 80));
      }
    });

    it('has a text for every problem in both languages', () => {
      for (const lang of ['en-US', 'zh-CN']) {
        const file = join(__dirname, '..', '..', '..', '..', 'nodes', 'wf-dcn-hub', 'locales', lang, 'wf-dcn-hub.json');
        const catalogue = JSON.parse(readFileSync(file, 'utf8')) as { 'wf-dcn-hub': { problem: Record<string, string> } };
        for (const code of ['sendersNotJson', 'sendersNotList', 'senderNotObject', 'senderField', 'senderTwice', 'mbosNotJson', 'mbosNotList', 'mboNotObject', 'mboField', 'mboTwice', 'tooMany']) {
          assert.ok(catalogue['wf-dcn-hub'].problem[code], `${lang} ${code}`);
        }
      }
    });
  });
});
