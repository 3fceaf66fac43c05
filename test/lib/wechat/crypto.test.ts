import { strict as assert } from 'node:assert';
import { createCipheriv } from 'node:crypto';
import {
  CryptoErrorCode,
  WeChatCipher,
  WeChatCryptoError,
  nowSeconds,
  parseEncodingAESKey,
  randomNonce,
  signatureMatches,
  signatureOf,
} from '../../../lib/wechat/crypto';

// wechat-crypto ships no types; this is the part of it the comparison uses.
interface ThirdPartyCipher {
  getSignature(timestamp: string, nonce: string, encrypted: string): string;
  encrypt(text: string): string;
  decrypt(text: string): { message: string; id: string };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ThirdParty: new (token: string, key: string, id: string) => ThirdPartyCipher = require('wechat-crypto');

/** Tencent's WeCom sample (WXBizMsgCrypt Sample.* in every language of its SDK). */
const WECOM_SAMPLE = {
  token: 'QDG6eK',
  key: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  corpId: 'wx5823bf96d3bd56c7',
  get: {
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
    signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
    plaintext: '1616140317555161061',
  },
  post: {
    timestamp: '1409659813',
    nonce: '1372623149',
    signature: '477715d11cdb4164915debcba66cb864d751f3e6',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
    plaintext:
      '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n' +
      '<FromUserName><![CDATA[mycreate]]></FromUserName>\n' +
      '<CreateTime>1409659813</CreateTime>\n' +
      '<MsgType><![CDATA[text]]></MsgType>\n' +
      '<Content><![CDATA[hello]]></Content>\n' +
      '<MsgId>4561255354251345929</MsgId>\n' +
      '<AgentID>218</AgentID>\n' +
      '</xml>',
  },
};

/** Tencent's Official Account sample (WXBizMsgCrypt Sample.py / sample.php for the OA platform). */
const OFFICIAL_SAMPLE = {
  token: 'spamtest',
  key: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  appId: 'wx2c2769f8efd9abc2',
  timestamp: '1409735669',
  nonce: '1320562132',
  msgSignature: '5d197aaffba7e9b25a30732f161a50dee96bd5fa',
  encrypt:
    'hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=',
  plaintext:
    '<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n' +
    '<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n' +
    '<CreateTime>1409735668</CreateTime>\n' +
    '<MsgType><![CDATA[text]]></MsgType>\n' +
    '<Content><![CDATA[abcdteT]]></Content>\n' +
    '<MsgId>6054768590064713728</MsgId>\n' +
    '</xml>',
};

const TOKEN = 'UnitTestToken';
const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const APP_ID = 'wx1234567890abcdef';

function expectCode(fn: () => unknown, code: CryptoErrorCode): WeChatCryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof WeChatCryptoError, `expected a WeChatCryptoError(${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Encrypts an arbitrary plaintext buffer (already padded by the caller) the way WeChat would. */
function encryptRaw(plain: Buffer, encodingAESKey = KEY): string {
  const key = parseEncodingAESKey(encodingAESKey);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

/** random(16) | msg_len | msg | receiverId, with a declared length that may lie. */
function layout(message: string, receiverId: string, declaredLength = Buffer.byteLength(message)): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength, 0);
  return Buffer.concat([Buffer.alloc(16, 7), length, Buffer.from(message), Buffer.from(receiverId)]);
}

function pad(unpadded: Buffer, block = 32): Buffer {
  const n = block - (unpadded.length % block);
  return Buffer.concat([unpadded, Buffer.alloc(n, n)]);
}

describe('lib/wechat/crypto', () => {
  describe("Tencent's published sample vectors", () => {
    it('verifies and decrypts the WeCom URL-verification echostr', () => {
      const { token, key, corpId, get } = WECOM_SAMPLE;
      assert.equal(signatureOf([token, get.timestamp, get.nonce, get.echostr]), get.signature);
      const cipher = new WeChatCipher(token, key, corpId);
      const result = cipher.verifyAndDecrypt(get.signature, get.timestamp, get.nonce, get.echostr);
      assert.deepEqual(result, { message: get.plaintext, receiverId: corpId });
    });

    it('verifies and decrypts the WeCom POST sample message', () => {
      const { token, key, corpId, post } = WECOM_SAMPLE;
      const cipher = new WeChatCipher(token, key, corpId);
      assert.equal(cipher.sign(post.timestamp, post.nonce, post.encrypt), post.signature);
      const result = cipher.verifyAndDecrypt(post.signature, post.timestamp, post.nonce, post.encrypt);
      assert.equal(result.message, post.plaintext);
      assert.equal(result.receiverId, corpId);
    });

    it('verifies and decrypts the Official Account sample message', () => {
      const s = OFFICIAL_SAMPLE;
      const cipher = new WeChatCipher(s.token, s.key, s.appId);
      const result = cipher.verifyAndDecrypt(s.msgSignature, s.timestamp, s.nonce, s.encrypt);
      assert.equal(result.message, s.plaintext);
      assert.equal(result.receiverId, s.appId);
    });

    it('refuses the samples under another receiver id or token', () => {
      const { token, key, post } = WECOM_SAMPLE;
      expectCode(() => new WeChatCipher(token, key, 'wx0000000000000000').decrypt(post.encrypt), 'bad_receiver_id');
      expectCode(
        () => new WeChatCipher('other', key, WECOM_SAMPLE.corpId).verifyAndDecrypt(post.signature, post.timestamp, post.nonce, post.encrypt),
        'bad_signature',
      );
    });
  });

  describe('signatures', () => {
    it('signs the lexicographically sorted parts, independent of their order', () => {
      assert.equal(signatureOf(['b', 'a', 'c']), signatureOf(['abc']));
      assert.equal(signatureOf(['c', 'b', 'a']), signatureOf(['a', 'b', 'c']));
      assert.notEqual(signatureOf(['a', 'b']), signatureOf(['a', 'c']));
    });

    it('accepts upper-case hex and refuses missing, short and wrong signatures', () => {
      const parts = [TOKEN, '1700000000', '42'];
      const good = signatureOf(parts);
      assert.equal(signatureMatches(good, parts), true);
      assert.equal(signatureMatches(good.toUpperCase(), parts), true);
      assert.equal(signatureMatches(undefined, parts), false);
      assert.equal(signatureMatches('', parts), false);
      assert.equal(signatureMatches(good.slice(0, 39), parts), false);
      assert.equal(signatureMatches(good.slice(0, 39) + (good[39] === '0' ? '1' : '0'), parts), false);
    });

    it('produces random digit nonces and whole-second timestamps', () => {
      assert.match(randomNonce(), /^\d+$/);
      assert.equal(nowSeconds(1_700_000_000_999), '1700000000');
    });
  });

  describe('round trips', () => {
    const messages = ['', 'hello', '你好，世界', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(5000)];

    it('decrypts what it encrypts, for every padding length', () => {
      const cipher = new WeChatCipher(TOKEN, KEY, APP_ID);
      for (let len = 0; len < 70; len++) {
        const text = 'm'.repeat(len);
        assert.equal(cipher.decrypt(cipher.encrypt(text)).message, text);
      }
      for (const text of messages) assert.equal(cipher.decrypt(cipher.encrypt(text)).message, text);
    });

    it('pads to 32-byte blocks (pad value 1..32), as WeChat does', () => {
      const cipher = new WeChatCipher(TOKEN, KEY, APP_ID);
      for (let len = 0; len < 40; len++) {
        const size = Buffer.from(cipher.encrypt('a'.repeat(len)), 'base64').length;
        assert.equal(size % 32, 0, `ciphertext of a ${len}-byte message is ${size} bytes`);
      }
    });

    it('uses a fresh random prefix, and the injected one when given', () => {
      const cipher = new WeChatCipher(TOKEN, KEY, APP_ID);
      assert.notEqual(cipher.encrypt('same'), cipher.encrypt('same'));
      const fixed = Buffer.alloc(16, 1);
      assert.equal(cipher.encrypt('same', fixed), cipher.encrypt('same', fixed));
      assert.throws(() => cipher.encrypt('same', Buffer.alloc(15)), RangeError);
    });

    // Observed with wechat-crypto 0.0.2: it pads to 32-byte blocks like we do (so its
    // output passes our strict padding check unchanged), but its decoder is lenient: it
    // never checks the pad bytes, treats an out-of-range pad value as "no padding", never
    // bounds-checks msg_len and returns the receiver id without comparing it.
    it('our encrypt -> wechat-crypto decrypt', () => {
      const ours = new WeChatCipher(TOKEN, KEY, APP_ID);
      const theirs = new ThirdParty(TOKEN, KEY, APP_ID);
      for (const text of messages) {
        const encrypted = ours.encrypt(text);
        assert.deepEqual(theirs.decrypt(encrypted), { message: text, id: APP_ID });
        assert.equal(theirs.getSignature('1700000000', '99', encrypted), ours.sign('1700000000', '99', encrypted));
      }
    });

    it('wechat-crypto encrypt -> our decrypt', () => {
      const ours = new WeChatCipher(TOKEN, KEY, APP_ID);
      const theirs = new ThirdParty(TOKEN, KEY, APP_ID);
      for (const text of messages) {
        const encrypted = theirs.encrypt(text);
        assert.equal(Buffer.from(encrypted, 'base64').length % 32, 0);
        const signature = theirs.getSignature('1700000000', '99', encrypted);
        assert.deepEqual(ours.verifyAndDecrypt(signature, '1700000000', '99', encrypted), { message: text, receiverId: APP_ID });
      }
    });

    it('accepts 16-byte-style padding (pad value 1..16 on a 16-byte boundary), which WeCom also accepts', () => {
      const plain = layout('sixteen', APP_ID);
      const padded = pad(plain, 16);
      assert.notEqual(padded.length % 32, 0, 'the test needs a length that 32-byte padding would not produce');
      const cipher = new WeChatCipher(TOKEN, KEY, APP_ID);
      assert.equal(cipher.decrypt(encryptRaw(padded)).message, 'sixteen');
    });

    it('works with an explicitly empty receiver id', () => {
      const cipher = new WeChatCipher(TOKEN, KEY, '');
      assert.deepEqual(cipher.decrypt(cipher.encrypt('{"encrypt":"bot"}')), { message: '{"encrypt":"bot"}', receiverId: '' });
      assert.equal(cipher.decrypt(encryptRaw(pad(layout('raw', '')))).message, 'raw');
      // An empty-id cipher must not accept a message that names a receiver.
      expectCode(() => cipher.decrypt(new WeChatCipher(TOKEN, KEY, APP_ID).encrypt('x')), 'bad_receiver_id');
    });
  });

  describe('malformed input, each with its own error code', () => {
    const cipher = new WeChatCipher(TOKEN, KEY, APP_ID);

    it('bad signature, checked before anything is decrypted', () => {
      const encrypted = cipher.encrypt('hello');
      const err = expectCode(() => cipher.verifyAndDecrypt('0'.repeat(40), '1', '2', encrypted), 'bad_signature');
      assert.equal(err.tencentCode, -40001);
      // Garbage that would fail decryption still reports the signature first.
      expectCode(() => cipher.verifyAndDecrypt(undefined, '1', '2', '%%%'), 'bad_signature');
      // A valid signature over a different timestamp is refused.
      expectCode(() => cipher.verifyAndDecrypt(cipher.sign('1', '2', encrypted), '3', '2', encrypted), 'bad_signature');
    });

    it('bad AES key: wrong length or characters', () => {
      for (const key of ['', KEY.slice(0, 42), KEY + 'H', KEY.slice(0, 42) + '+', KEY.slice(0, 42) + '=', KEY.slice(0, 42) + '-']) {
        const err = expectCode(() => new WeChatCipher(TOKEN, key, APP_ID), 'bad_aes_key');
        assert.equal(err.tencentCode, -40004);
        assert.ok(!err.message.includes(KEY.slice(0, 10)), 'the error must not echo the key');
      }
      expectCode(() => parseEncodingAESKey(undefined as unknown as string), 'bad_aes_key');
      assert.equal(parseEncodingAESKey(KEY).length, 32);
    });

    it('bad ciphertext: empty, not a multiple of 16, or not base64', () => {
      expectCode(() => cipher.decrypt(''), 'bad_ciphertext');
      expectCode(() => cipher.decrypt(Buffer.alloc(20).toString('base64')), 'bad_ciphertext');
      expectCode(() => cipher.decrypt(Buffer.alloc(33).toString('base64')), 'bad_ciphertext');
      const good = cipher.encrypt('hello');
      expectCode(() => cipher.decrypt(good.slice(0, -4) + '*' + good.slice(-3)), 'bad_ciphertext');
      expectCode(() => cipher.decrypt(good.slice(1)), 'bad_ciphertext');
      expectCode(() => cipher.decrypt(good.replace(/=*$/, '') + '===='), 'bad_ciphertext');
    });

    it('bad pad value: 0 or above 32', () => {
      const plain = layout('hello', APP_ID);
      const fill = 96 - plain.length;
      const zero = Buffer.concat([plain, Buffer.alloc(fill, 0)]);
      expectCode(() => cipher.decrypt(encryptRaw(zero)), 'bad_padding');
      const big = Buffer.concat([plain, Buffer.alloc(fill, 33)]);
      assert.ok(fill >= 33, 'the 33-byte pad must fit');
      expectCode(() => cipher.decrypt(encryptRaw(big)), 'bad_padding');
      const huge = Buffer.concat([plain, Buffer.alloc(fill - 1, 0), Buffer.from([200])]);
      expectCode(() => cipher.decrypt(encryptRaw(huge)), 'bad_padding');
    });

    it('bad padding: pad bytes not all equal', () => {
      const padded = pad(layout('hello', APP_ID));
      const n = padded[padded.length - 1];
      assert.ok(n >= 2);
      padded[padded.length - n] = n - 1;
      expectCode(() => cipher.decrypt(encryptRaw(padded)), 'bad_padding');
    });

    it('bad length: msg_len points past the end', () => {
      const plain = pad(layout('hello', APP_ID, 5 + APP_ID.length + 1));
      const err = expectCode(() => cipher.decrypt(encryptRaw(plain)), 'bad_length');
      assert.match(err.message, /msg_len/);
      expectCode(() => cipher.decrypt(encryptRaw(pad(layout('hello', APP_ID, 0xffffffff)))), 'bad_length');
    });

    it('bad length: plaintext shorter than its 20-byte header', () => {
      // 16 random bytes and nothing else, padded with 16 bytes of value 16.
      const short = pad(Buffer.alloc(16, 9));
      assert.equal(short.length, 32);
      const err = expectCode(() => cipher.decrypt(encryptRaw(short)), 'bad_length');
      assert.match(err.message, /20-byte header/);
    });

    it('wrong receiver id', () => {
      const other = new WeChatCipher(TOKEN, KEY, 'wx_other_account');
      const err = expectCode(() => cipher.decrypt(other.encrypt('hello')), 'bad_receiver_id');
      assert.equal(err.tencentCode, -40005);
      // A truncated id (a prefix of ours) is just as wrong.
      expectCode(() => cipher.decrypt(encryptRaw(pad(layout('hello', APP_ID.slice(0, -1))))), 'bad_receiver_id');
    });

    it('wrong key decrypts to garbage that fails a check instead of returning it', () => {
      const other = new WeChatCipher(TOKEN, 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut', APP_ID);
      for (let i = 0; i < 20; i++) {
        assert.throws(() => cipher.decrypt(other.encrypt(`message ${i}`)), WeChatCryptoError);
      }
    });
  });
});
