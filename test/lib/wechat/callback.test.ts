import { strict as assert } from 'node:assert';
import { CallbackAccount, CallbackEndpoint, CallbackError, CallbackQuery, dedupKeyOf } from '../../../lib/wechat/callback';
import { WeChatCipher, signatureOf } from '../../../lib/wechat/crypto';
import { buildXml, parseXml } from '../../../lib/wechat/xml';

const NOW = 1_700_000_000_000;
const TS = String(NOW / 1000);
const NONCE = '1320562132';

const OFFICIAL: CallbackAccount = {
  kind: 'official',
  appId: 'wx5a1db0c0de000001',
  token: 'OfficialToken',
  encodingAESKey: 'gs9z7II2LXYHy5Hin0JUPrWlg8XEa3Hqjg6fe894k5J',
};
const WECOM: CallbackAccount = {
  kind: 'wecom',
  appId: 'ww5a1db0c0de000002',
  token: 'WeComToken',
  encodingAESKey: 'AUu89XkdjYsp1qxSvyPMXHFqkh8Bhl5RzFz5YvQom3b',
};

const TEXT_MESSAGE =
  '<xml><ToUserName><![CDATA[gh_5a1db0c0de01]]></ToUserName><FromUserName><![CDATA[oUser123]]></FromUserName>' +
  '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>' +
  '<MsgId>6054768590064713728</MsgId></xml>';

/** The same Official Account without an EncodingAESKey: plain mode is its only mode. */
const PLAIN_OA: CallbackAccount = { ...OFFICIAL, encodingAESKey: undefined };

function endpoint(account: CallbackAccount, replayWindowSeconds = 300): CallbackEndpoint {
  return new CallbackEndpoint(account, { replayWindowSeconds });
}

function cipherFor(account: CallbackAccount, receiverId = account.appId): WeChatCipher {
  return new WeChatCipher(account.token, account.encodingAESKey as string, receiverId);
}

function plainQuery(account: CallbackAccount, timestamp = TS): CallbackQuery {
  return { signature: signatureOf([account.token, timestamp, NONCE]), timestamp, nonce: NONCE, openid: 'oUser123' };
}

/** An encrypted delivery: the query WeChat sends and the envelope body. */
function encrypted(
  account: CallbackAccount,
  message: string,
  options: { envelope?: Record<string, string>; receiverId?: string; timestamp?: string } = {},
): { query: CallbackQuery; body: string } {
  const timestamp = options.timestamp ?? TS;
  const encrypt = cipherFor(account, options.receiverId).encrypt(message);
  const query: CallbackQuery = {
    msg_signature: signatureOf([account.token, timestamp, NONCE, encrypt]),
    timestamp,
    nonce: NONCE,
  };
  if (account.kind === 'official') {
    query.signature = signatureOf([account.token, timestamp, NONCE]);
    query.encrypt_type = 'aes';
  }
  const envelope = options.envelope ?? { ToUserName: 'gh_5a1db0c0de01' };
  const body = buildXml(account.kind === 'wecom' ? { ...envelope, Encrypt: encrypt, AgentID: '1000002' } : { ...envelope, Encrypt: encrypt });
  return { query, body };
}

function expectRefusal(fn: () => unknown, status: number, reason: string): CallbackError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CallbackError, `expected CallbackError ${status} ${reason}, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.equal(caught.status, status);
  return caught;
}

describe('lib/wechat/callback', () => {
  describe('configuration', () => {
    it('needs a token, and an EncodingAESKey for WeCom', () => {
      expectRefusal(() => endpoint({ ...OFFICIAL, token: '' }), 500, 'config');
      expectRefusal(() => endpoint({ ...WECOM, encodingAESKey: undefined }), 500, 'config');
      assert.doesNotThrow(() => endpoint({ ...OFFICIAL, encodingAESKey: undefined }));
    });

    it('answers "success" (Official Account) or an empty body (WeCom) when there is no reply', () => {
      assert.equal(endpoint(OFFICIAL).noReplyBody, 'success');
      assert.equal(endpoint(WECOM).noReplyBody, '');
    });
  });

  describe('URL verification (GET)', () => {
    it('echoes the Official Account echostr unchanged, even with a key configured', () => {
      const echostr = 'E+cho/str==';
      assert.equal(endpoint(OFFICIAL).verifyUrl({ ...plainQuery(OFFICIAL), echostr }, NOW), echostr);
    });

    it('refuses a forged Official Account signature', () => {
      const query = { ...plainQuery(OFFICIAL), signature: signatureOf(['forged', TS, NONCE]), echostr: 'x' };
      expectRefusal(() => endpoint(OFFICIAL).verifyUrl(query, NOW), 401, 'bad_signature');
    });

    it('refuses missing parameters', () => {
      expectRefusal(() => endpoint(OFFICIAL).verifyUrl({ ...plainQuery(OFFICIAL) }, NOW), 400, 'missing_parameters');
      expectRefusal(() => endpoint(WECOM).verifyUrl({ timestamp: TS, echostr: 'x' }, NOW), 400, 'missing_parameters');
    });

    it("decrypts Tencent's WeCom sample echostr", () => {
      const sample = { kind: 'wecom' as const, appId: 'wx5823bf96d3bd56c7', token: 'QDG6eK', encodingAESKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
      const query = {
        msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
        timestamp: '1409659589',
        nonce: '263014780',
        echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
      };
      assert.equal(endpoint(sample, 0).verifyUrl(query), '1616140317555161061');
      // With a replay window, the sample passes at its own time and is stale today.
      assert.equal(endpoint(sample, 300).verifyUrl(query, 1409659589_000), '1616140317555161061');
      expectRefusal(() => endpoint(sample, 300).verifyUrl(query, NOW), 403, 'stale_timestamp');
      // Form decoding of an unescaped query turns every '+' into a space.
      assert.equal(endpoint(sample, 0).verifyUrl({ ...query, echostr: query.echostr.replace(/\+/g, ' ') }), '1616140317555161061');
    });

    it('decrypts a WeCom echostr signed with msg_signature, and refuses a forged one', () => {
      const echo = cipherFor(WECOM).encrypt('8392017465');
      const query = { msg_signature: signatureOf([WECOM.token, TS, NONCE, echo]), timestamp: TS, nonce: NONCE, echostr: echo };
      assert.equal(endpoint(WECOM).verifyUrl(query, NOW), '8392017465');
      expectRefusal(() => endpoint(WECOM).verifyUrl({ ...query, msg_signature: signatureOf(['x', TS, NONCE, echo]) }, NOW), 401, 'bad_signature');
      // The Official Account style signature (without echostr) is not enough for WeCom.
      expectRefusal(() => endpoint(WECOM).verifyUrl({ ...query, msg_signature: signatureOf([WECOM.token, TS, NONCE]) }, NOW), 401, 'bad_signature');
    });

    it('refuses a WeCom echostr encrypted for another corp', () => {
      const echo = cipherFor(WECOM, 'ww_other_corp').encrypt('1');
      const query = { msg_signature: signatureOf([WECOM.token, TS, NONCE, echo]), timestamp: TS, nonce: NONCE, echostr: echo };
      expectRefusal(() => endpoint(WECOM).verifyUrl(query, NOW), 403, 'bad_receiver_id');
    });
  });

  describe('Official Account plain mode', () => {
    it('accepts a signed message and parses it', () => {
      const inbound = endpoint(PLAIN_OA).open(plainQuery(OFFICIAL), TEXT_MESSAGE, NOW);
      assert.equal(inbound.mode, 'plain');
      assert.equal(inbound.encrypted, false);
      assert.equal(inbound.fields.Content, 'hello');
      assert.equal(inbound.fields.MsgId, '6054768590064713728');
      assert.equal(inbound.dedupKey, dedupKeyOf(parseXml(TEXT_MESSAGE)));
      assert.equal(inbound.signature, plainQuery(OFFICIAL).signature);
      assert.equal(inbound.bodySigned, false, 'the plain signature does not cover the body');
    });

    it('refuses a plaintext callback to an account with an EncodingAESKey with 403, unless it accepts plaintext', () => {
      expectRefusal(() => endpoint(OFFICIAL).open(plainQuery(OFFICIAL), TEXT_MESSAGE, NOW), 403, 'plaintext_refused');
      const switching = endpoint({ ...OFFICIAL, acceptPlain: true }).open(plainQuery(OFFICIAL), TEXT_MESSAGE, NOW);
      assert.equal(switching.fields.Content, 'hello');
      assert.equal(switching.mode, 'plain');
    });

    it('judges the signature before refusing plaintext: a forged one is 401 either way', () => {
      const forged = { ...plainQuery(OFFICIAL), signature: signatureOf(['guess', TS, NONCE]) };
      expectRefusal(() => endpoint(OFFICIAL).open(forged, TEXT_MESSAGE, NOW), 401, 'bad_signature');
    });

    it('refuses a forged or missing signature with 401 bad_signature', () => {
      const forged = { ...plainQuery(OFFICIAL), signature: signatureOf(['guess', TS, NONCE]) };
      expectRefusal(() => endpoint(PLAIN_OA).open(forged, TEXT_MESSAGE, NOW), 401, 'bad_signature');
      const { signature: _omit, ...unsigned } = plainQuery(OFFICIAL);
      expectRefusal(() => endpoint(PLAIN_OA).open(unsigned, TEXT_MESSAGE, NOW), 401, 'bad_signature');
    });

    it('refuses a missing timestamp or nonce', () => {
      expectRefusal(() => endpoint(PLAIN_OA).open({ ...plainQuery(OFFICIAL), nonce: '' }, TEXT_MESSAGE, NOW), 400, 'missing_parameters');
    });

    it('refuses a stale timestamp with 403, and a window of 0 disables the check', () => {
      const old = String(NOW / 1000 - 301);
      expectRefusal(() => endpoint(PLAIN_OA, 300).open(plainQuery(OFFICIAL, old), TEXT_MESSAGE, NOW), 403, 'stale_timestamp');
      const future = String(NOW / 1000 + 301);
      expectRefusal(() => endpoint(PLAIN_OA, 300).open(plainQuery(OFFICIAL, future), TEXT_MESSAGE, NOW), 403, 'stale_timestamp');
      const milliseconds = String(NOW);
      expectRefusal(() => endpoint(PLAIN_OA, 300).open(plainQuery(OFFICIAL, milliseconds), TEXT_MESSAGE, NOW), 403, 'stale_timestamp');
      assert.equal(endpoint(PLAIN_OA, 300).open(plainQuery(OFFICIAL, String(NOW / 1000 - 299)), TEXT_MESSAGE, NOW).fields.Content, 'hello');
      assert.equal(endpoint(PLAIN_OA, 0).open(plainQuery(OFFICIAL, old), TEXT_MESSAGE, NOW).fields.Content, 'hello');
      assert.equal(endpoint(PLAIN_OA, 0).open(plainQuery(OFFICIAL, '1'), TEXT_MESSAGE, NOW).fields.Content, 'hello');
    });

    it('refuses malformed XML with 400 bad_xml', () => {
      expectRefusal(() => endpoint(PLAIN_OA).open(plainQuery(OFFICIAL), '<xml><Content>hi</xml>', NOW), 400, 'bad_xml');
      expectRefusal(() => endpoint(PLAIN_OA).open(plainQuery(OFFICIAL), '<!DOCTYPE x [<!ENTITY a "b">]><xml/>', NOW), 400, 'bad_xml');
      expectRefusal(() => endpoint(PLAIN_OA).open(plainQuery(OFFICIAL), '', NOW), 400, 'bad_xml');
    });

    it('accepts the query parameters as arrays (as some frameworks give them)', () => {
      const q = plainQuery(OFFICIAL);
      const arrays = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, [v]]));
      assert.equal(endpoint(PLAIN_OA).open(arrays, TEXT_MESSAGE, NOW).fields.Content, 'hello');
    });
  });

  describe('Official Account compatible mode', () => {
    it("opens Tencent's Official Account sample (plain copy plus Encrypt)", () => {
      const sample = { kind: 'official' as const, appId: 'wx2c2769f8efd9abc2', token: 'spamtest', encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' };
      const encrypt =
        'hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=';
      const body =
        '<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>' +
        '<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content>' +
        `<MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
      const query = {
        signature: signatureOf(['spamtest', '1409735669', '1320562132']),
        timestamp: '1409735669',
        nonce: '1320562132',
        encrypt_type: 'aes',
        msg_signature: '5d197aaffba7e9b25a30732f161a50dee96bd5fa',
      };
      const inbound = endpoint(sample, 0).open(query, body);
      assert.equal(inbound.mode, 'compatible');
      assert.equal(inbound.encrypted, true);
      assert.deepEqual(inbound.fields, {
        ToUserName: 'gh_10f6c3c3ac5a',
        FromUserName: 'oyORnuP8q7ou2gfYjqLzSIWZf0rs',
        CreateTime: '1409735668',
        MsgType: 'text',
        Content: 'abcdteT',
        MsgId: '6054768590064713728',
      });
    });

    it('trusts only the decrypted payload when the plain copy says something else', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE, {
        envelope: { ToUserName: 'gh_5a1db0c0de01', FromUserName: 'oAttacker', CreateTime: '1', MsgType: 'text', Content: 'transfer all money', MsgId: '1' },
      });
      const inbound = endpoint(OFFICIAL).open(query, body, NOW);
      assert.equal(inbound.mode, 'compatible');
      assert.equal(inbound.fields.Content, 'hello');
      assert.equal(inbound.fields.FromUserName, 'oUser123');
      assert.equal(inbound.dedupKey, dedupKeyOf(parseXml(TEXT_MESSAGE)), 'the key is of the decrypted message only');
      assert.equal(inbound.fields.Encrypt, undefined);
    });

    it('refuses an envelope whose msg_signature does not cover its Encrypt, even with a valid plain signature', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE);
      const other = encrypted(OFFICIAL, TEXT_MESSAGE.replace('hello', 'evil'));
      expectRefusal(() => endpoint(OFFICIAL).open(query, other.body, NOW), 401, 'bad_signature');
      expectRefusal(() => endpoint(OFFICIAL).open({ ...query, msg_signature: undefined }, body, NOW), 401, 'bad_signature');
    });
  });

  describe('Official Account safe mode', () => {
    it('opens ToUserName + Encrypt', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE);
      const inbound = endpoint(OFFICIAL).open(query, body, NOW);
      assert.equal(inbound.mode, 'safe');
      assert.equal(inbound.encrypted, true);
      assert.equal(inbound.fields.Content, 'hello');
    });

    it('refuses a message for another AppID with 403', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE, { receiverId: 'wx_other_app' });
      expectRefusal(() => endpoint(OFFICIAL).open(query, body, NOW), 403, 'bad_receiver_id');
    });

    it('refuses an encrypted message to an account without a key with 400', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE);
      expectRefusal(() => endpoint({ ...OFFICIAL, encodingAESKey: undefined }).open(query, body, NOW), 400, 'no_aes_key');
    });

    it('refuses an envelope without Encrypt, and a payload that is not XML', () => {
      const { query } = encrypted(OFFICIAL, TEXT_MESSAGE);
      expectRefusal(() => endpoint(OFFICIAL).open(query, '<xml><ToUserName>gh</ToUserName></xml>', NOW), 400, 'bad_body');
      const broken = encrypted(OFFICIAL, '<xml><Content>unclosed</xml>');
      expectRefusal(() => endpoint(OFFICIAL).open(broken.query, broken.body, NOW), 400, 'bad_xml');
    });

    it('refuses a stale timestamp after the signature checks out', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE, { timestamp: String(NOW / 1000 - 1000) });
      expectRefusal(() => endpoint(OFFICIAL).open(query, body, NOW), 403, 'stale_timestamp');
      assert.equal(endpoint(OFFICIAL, 0).open(query, body, NOW).fields.Content, 'hello');
    });
  });

  describe('WeCom', () => {
    const wecomMessage =
      '<xml><ToUserName><![CDATA[ww5a1db0c0de000002]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>' +
      '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>' +
      '<MsgId>4561255354251345929</MsgId><AgentID>1000002</AgentID></xml>';

    it('opens an encrypted message (always encrypted, without encrypt_type)', () => {
      const { query, body } = encrypted(WECOM, wecomMessage, { envelope: { ToUserName: WECOM.appId } });
      const inbound = endpoint(WECOM).open(query, body, NOW);
      assert.equal(inbound.mode, 'wecom');
      assert.equal(inbound.encrypted, true);
      assert.equal(inbound.fields.AgentID, '1000002');
      assert.equal(inbound.dedupKey, dedupKeyOf(parseXml(wecomMessage)));
      assert.equal(inbound.bodySigned, true);
      assert.equal(inbound.signature, query.msg_signature);
    });

    it("opens Tencent's WeCom POST sample", () => {
      const sample = { kind: 'wecom' as const, appId: 'wx5823bf96d3bd56c7', token: 'QDG6eK', encodingAESKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
      const body =
        '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>\n' +
        '<AgentID><![CDATA[218]]></AgentID>\n</xml>';
      const query = { msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6', timestamp: '1409659813', nonce: '1372623149' };
      const inbound = endpoint(sample, 0).open(query, body);
      assert.deepEqual(inbound.fields, {
        ToUserName: 'wx5823bf96d3bd56c7',
        FromUserName: 'mycreate',
        CreateTime: '1409659813',
        MsgType: 'text',
        Content: 'hello',
        MsgId: '4561255354251345929',
        AgentID: '218',
      });
    });

    it('refuses a plain body, a forged signature and another corp', () => {
      const plain = { signature: signatureOf([WECOM.token, TS, NONCE]), timestamp: TS, nonce: NONCE };
      expectRefusal(() => endpoint(WECOM).open(plain, wecomMessage, NOW), 400, 'bad_body');
      const { query, body } = encrypted(WECOM, wecomMessage);
      expectRefusal(() => endpoint(WECOM).open({ ...query, msg_signature: '0'.repeat(40) }, body, NOW), 401, 'bad_signature');
      const foreign = encrypted(WECOM, wecomMessage, { receiverId: 'ww_other_corp' });
      expectRefusal(() => endpoint(WECOM).open(foreign.query, foreign.body, NOW), 403, 'bad_receiver_id');
    });

    it('accepts an explicitly empty receiver id (AI bots) and then refuses a CorpID', () => {
      const bot = { ...WECOM, receiverId: '' };
      const { query, body } = encrypted(bot, wecomMessage, { receiverId: '' });
      assert.equal(endpoint(bot).open(query, body, NOW).fields.Content, 'hi');
      const withCorp = encrypted(bot, wecomMessage);
      expectRefusal(() => endpoint(bot).open(withCorp.query, withCorp.body, NOW), 403, 'bad_receiver_id');
    });

    it('refuses undecryptable Encrypt text with 400', () => {
      const encrypt = 'not*base64';
      const query = { msg_signature: signatureOf([WECOM.token, TS, NONCE, encrypt]), timestamp: TS, nonce: NONCE };
      expectRefusal(() => endpoint(WECOM).open(query, buildXml({ ToUserName: WECOM.appId, Encrypt: encrypt }), NOW), 400, 'bad_ciphertext');
    });
  });

  describe('seal', () => {
    const reply = '<xml><ToUserName><![CDATA[oUser123]]></ToUserName><Content><![CDATA[hi]]></Content></xml>';

    for (const account of [OFFICIAL, WECOM]) {
      it(`${account.kind}: the envelope verifies and decrypts back to the reply`, () => {
        const sealed = endpoint(account).seal(reply, true, NOW);
        const envelope = parseXml(sealed);
        assert.deepEqual(Object.keys(envelope), ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
        assert.equal(envelope.TimeStamp, TS, 'TimeStamp is in seconds');
        assert.match(envelope.Nonce as string, /^\d+$/);
        const cipher = cipherFor(account);
        const opened = cipher.verifyAndDecrypt(envelope.MsgSignature as string, TS, envelope.Nonce as string, envelope.Encrypt as string);
        assert.equal(opened.message, reply);
        assert.equal(opened.receiverId, account.appId);
      });
    }

    it('returns a plain reply unchanged when the inbound message was not encrypted', () => {
      assert.equal(endpoint(OFFICIAL).seal(reply, false, NOW), reply);
      assert.equal(endpoint({ ...OFFICIAL, encodingAESKey: undefined }).seal(reply, false, NOW), reply);
    });

    it('cannot seal without a key', () => {
      expectRefusal(() => endpoint({ ...OFFICIAL, encodingAESKey: undefined }).seal(reply, true, NOW), 400, 'no_aes_key');
    });

    it('uses a fresh nonce for each reply', () => {
      const a = parseXml(endpoint(OFFICIAL).seal(reply, true, NOW));
      const b = parseXml(endpoint(OFFICIAL).seal(reply, true, NOW));
      assert.notEqual(a.Encrypt, b.Encrypt);
    });
  });

  describe('dedupKeyOf', () => {
    const event = { ToUserName: 'ww1', FromUserName: 'sys', CreateTime: '1700000000', MsgType: 'event', Event: 'change_external_contact' };

    it('tells apart system events of one kind in one second that differ in any field', () => {
      const a = { ...event, ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: 'wmA' };
      assert.notEqual(dedupKeyOf(a), dedupKeyOf({ ...a, ExternalUserID: 'wmB' }), 'another external contact');
      assert.notEqual(dedupKeyOf(a), dedupKeyOf({ ...a, ChangeType: 'edit_external_contact' }));
      const approval = (status: string) => ({ ...event, Event: 'sys_approval_change', ApprovalInfo: { SpNo: '2026001', SpStatus: '1', Notifyer: { UserId: status } } });
      assert.notEqual(dedupKeyOf(approval('lisi')), dedupKeyOf(approval('wangwu')), 'a nested field');
      assert.notEqual(dedupKeyOf({ ...a, Items: ['x', 'y'] }), dedupKeyOf({ ...a, Items: ['y', 'x'] }), 'order inside a list');
    });

    it('tells apart the same MsgId from two senders', () => {
      const text = { ToUserName: 'gh_1', CreateTime: '1700000000', MsgType: 'text', Content: 'hi', MsgId: '42' };
      assert.notEqual(dedupKeyOf({ ...text, FromUserName: 'oA' }), dedupKeyOf({ ...text, FromUserName: 'oB' }));
    });

    it('does not depend on field order, and never confuses a value with its neighbours', () => {
      assert.equal(dedupKeyOf({ A: '1', B: '2' }), dedupKeyOf({ B: '2', A: '1' }));
      assert.notEqual(dedupKeyOf({ A: '1,"B":"2' }), dedupKeyOf({ A: '1', B: '2' }));
      assert.notEqual(dedupKeyOf({ A: ['1', '2'] }), dedupKeyOf({ A: '1,2' }));
    });

    it('gives a retried delivery the same key', () => {
      const { query, body } = encrypted(OFFICIAL, TEXT_MESSAGE);
      const first = endpoint(OFFICIAL).open(query, body, NOW);
      const retry = endpoint(OFFICIAL).open(query, body, NOW + 5000);
      assert.equal(first.dedupKey, retry.dedupKey);
    });
  });
});
