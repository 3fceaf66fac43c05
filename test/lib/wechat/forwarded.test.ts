import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicHeader } from '../../../lib/http/basic-auth';
import { CallbackError, dedupKeyOf } from '../../../lib/wechat/callback';
import { ForwardedEndpoint, ForwarderAuth, ForwarderRefusedError, checkForwarder, isHeaderName } from '../../../lib/wechat/forwarded';
import { parseXml } from '../../../lib/wechat/xml';

const CORP = 'ww5a1db0c0de000002';
const MESSAGE =
  `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[P000001]]></FromUserName>` +
  '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[create]]></Content>' +
  '<MsgId>4561255354251345929</MsgId><AgentID>1000003</AgentID></xml>';

const lib = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'nodes', 'shared', 'locales', 'en-US', 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

function refusal(attempt: () => unknown): CallbackError {
  try {
    attempt();
  } catch (err) {
    assert.ok(err instanceof CallbackError, String(err));
    // The node logs the translated text: in English it says what lib says (bad_xml and bad_body wrap lib's detail).
    const text = fill(lib[err.code], err.params);
    if (err.code === 'bad_xml' || err.code === 'bad_body') assert.ok(text.includes(err.message), err.code);
    else assert.equal(text, err.message, err.code);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('lib/wechat/forwarded', () => {
  describe('ForwardedEndpoint', () => {
    const endpoint = new ForwardedEndpoint({ corpId: CORP, agentId: '1000003' });

    it('opens the plain WeCom XML: every field a string, keyed by its whole content, nothing encrypted or signed', () => {
      const inbound = endpoint.open({}, MESSAGE);
      assert.deepEqual(inbound.fields, parseXml(MESSAGE));
      assert.equal(inbound.fields.MsgId, '4561255354251345929');
      assert.equal(inbound.mode, 'mobile-services');
      assert.equal(inbound.encrypted, false);
      assert.equal(inbound.dedupKey, dedupKeyOf(parseXml(MESSAGE)));
      assert.equal(inbound.signature, '', 'no signed query to hold to one message');
      assert.equal(inbound.bodySigned, false);
    });

    it('answers plainly: the reply XML as it is, an empty body for no reply', () => {
      assert.equal(endpoint.seal('<xml><Content><![CDATA[pong]]></Content></xml>'), '<xml><Content><![CDATA[pong]]></Content></xml>');
      assert.equal(endpoint.noReplyBody, '');
    });

    it('refuses malformed XML and entity declarations with 400 bad_xml', () => {
      for (const body of ['<xml><a>', '<!DOCTYPE x [<!ENTITY a "b">]><xml/>', '']) {
        assert.equal(refusal(() => endpoint.open({}, body)).status, 400);
      }
    });

    it('refuses a message for another CorpID (or none) with 403 bad_receiver_id', () => {
      for (const body of [MESSAGE.replace(CORP, 'ww0000000000000bad'), MESSAGE.replace(/<ToUserName>.*?<\/ToUserName>/, '')]) {
        const err = refusal(() => endpoint.open({}, body));
        assert.deepEqual([err.status, err.reason], [403, 'bad_receiver_id']);
      }
    });

    it('refuses a message for another AgentID with 403 bad_agent_id; one without AgentID passes', () => {
      const err = refusal(() => endpoint.open({}, MESSAGE.replace('1000003', '1000002')));
      assert.deepEqual([err.status, err.reason, err.params.agentId], [403, 'bad_agent_id', '1000002']);
      assert.equal(endpoint.open({}, MESSAGE.replace(/<AgentID>.*<\/AgentID>/, '')).fields.AgentID, undefined);
      assert.equal(new ForwardedEndpoint({ corpId: CORP }).open({}, MESSAGE.replace('1000003', '1000002')).fields.AgentID, '1000002', 'no AgentID on the account: not checked');
    });

    it('refuses a message without a sender or a type with 400 bad_body', () => {
      for (const name of ['FromUserName', 'MsgType']) {
        const body = MESSAGE.replace(new RegExp(`<${name}>.*?</${name}>`), '');
        assert.deepEqual([refusal(() => endpoint.open({}, body)).reason], ['bad_body'], name);
      }
    });

    it('cannot be built without a CorpID', () => {
      assert.throws(() => new ForwardedEndpoint({ corpId: '' }), (err: CallbackError) => err.reason === 'config');
    });
  });

  describe('checkForwarder', () => {
    const basic: ForwarderAuth = { kind: 'basic', user: 'ms-forwarder', password: 'pässword with spaces ' };
    const header: ForwarderAuth = { kind: 'header', name: 'X-Forward-Secret', secret: 's3cret' };

    it('lets in exactly the configured Basic login, whatever the case of the scheme', () => {
      checkForwarder(basic, { authorization: basicHeader('ms-forwarder', 'pässword with spaces ') });
      checkForwarder(basic, { authorization: basicHeader('ms-forwarder', 'pässword with spaces ').replace('Basic', 'basic') });
      for (const authorization of [basicHeader('ms-forwarder', 'pässword with spaces'), basicHeader('other', 'pässword with spaces '), 'Bearer x']) {
        const err = refusal(() => checkForwarder(basic, { authorization }));
        assert.ok(err instanceof ForwarderRefusedError);
        assert.deepEqual([err.status, err.reason], [401, 'forward_auth_wrong']);
        assert.match(err.challenge ?? '', /^Basic realm="wechat-in"/);
      }
      assert.equal(refusal(() => checkForwarder(basic, {})).reason, 'forward_auth_missing');
    });

    it('lets in exactly the configured header secret; the challenge is not Basic', () => {
      checkForwarder(header, { 'x-forward-secret': 's3cret' });
      const wrong = refusal(() => checkForwarder(header, { 'x-forward-secret': 's3cret ' })) as ForwarderRefusedError;
      assert.deepEqual([wrong.reason, wrong.challenge], ['forward_auth_wrong', undefined]);
      assert.equal(refusal(() => checkForwarder(header, { 'x-other': 's3cret' })).reason, 'forward_auth_missing');
    });

    it('refuses everyone when no login is configured, and no one for "none"', () => {
      const unset = refusal(() => checkForwarder({ kind: 'basic', user: '', password: '' }, { authorization: basicHeader('', '') }));
      assert.equal(unset.reason, 'forward_auth_unset');
      assert.equal(refusal(() => checkForwarder({ ...header, secret: '' }, { 'x-forward-secret': '' })).reason, 'forward_auth_unset');
      checkForwarder({ kind: 'none' }, {});
    });

    it('never puts what the request carried into its messages', () => {
      const attempts = [() => checkForwarder(basic, { authorization: basicHeader('intruder', 'guess') }), () => checkForwarder(header, { 'x-forward-secret': 'guess' })];
      for (const attempt of attempts) {
        const err = refusal(attempt);
        assert.ok(!JSON.stringify([err.message, err.params]).includes('guess'));
        assert.ok(!JSON.stringify([err.message, err.params]).includes('intruder'));
      }
    });

    it('knows a header name from what is not one', () => {
      assert.ok(isHeaderName('X-Forward-Secret'));
      for (const name of ['X Secret', 'X-Secret:', '', 'Ü']) assert.ok(!isHeaderName(name), name);
    });
  });
});
