/**
 * Tencent's WXBizMsgCrypt scheme, shared by WeChat Official Accounts and WeCom,
 * implemented strictly on node:crypto.
 *
 * Strict means: the signature is checked (in constant time) before anything is
 * decrypted, every PKCS#7 pad byte is checked, the embedded length is bounds-checked
 * and the receiver id (AppID / CorpID / SuiteID, or an explicitly empty id) must match.
 * Each failure raises a WeChatCryptoError with its own code, so callers can log the
 * cause without ever logging a secret.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type CryptoErrorCode =
  | 'bad_signature'
  | 'bad_aes_key'
  | 'bad_ciphertext'
  | 'bad_padding'
  | 'bad_length'
  | 'bad_receiver_id';

/** Tencent's sample SDK error numbers, kept for people who compare against it. */
const TENCENT_CODES: Record<CryptoErrorCode, number> = {
  bad_signature: -40001,
  bad_aes_key: -40004,
  bad_receiver_id: -40005,
  bad_ciphertext: -40007,
  bad_padding: -40007,
  bad_length: -40007,
};

export class WeChatCryptoError extends Error {
  readonly code: CryptoErrorCode;
  readonly tencentCode: number;
  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'WeChatCryptoError';
    this.code = code;
    this.tencentCode = TENCENT_CODES[code];
  }
}

const AES_KEY_PATTERN = /^[A-Za-z0-9]{43}$/;
/** WeChat pads to 32-byte blocks even though AES works in 16-byte blocks. */
const PAD_BLOCK = 32;
const RANDOM_PREFIX = 16;
const HEADER = RANDOM_PREFIX + 4;

/** Decodes an EncodingAESKey (43 base64 characters) into the 32-byte AES key. */
export function parseEncodingAESKey(encodingAESKey: string): Buffer {
  if (typeof encodingAESKey !== 'string' || !AES_KEY_PATTERN.test(encodingAESKey)) {
    throw new WeChatCryptoError('bad_aes_key', 'EncodingAESKey must be exactly 43 letters and digits');
  }
  const key = Buffer.from(encodingAESKey + '=', 'base64');
  if (key.length !== 32) {
    throw new WeChatCryptoError('bad_aes_key', 'EncodingAESKey does not decode to a 32-byte key');
  }
  return key;
}

/** Hex SHA-1 over the lexicographically sorted, concatenated parts. */
export function signatureOf(parts: readonly string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

/** Constant-time comparison of a received hex signature with the expected one. */
export function signatureMatches(received: string | undefined, parts: readonly string[]): boolean {
  if (typeof received !== 'string' || received.length !== 40) return false;
  const expected = Buffer.from(signatureOf(parts), 'latin1');
  const actual = Buffer.from(received.toLowerCase(), 'latin1');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export interface DecryptedMessage {
  message: string;
  receiverId: string;
}

/**
 * One account's cipher: the AES key, the token used for message signatures and
 * the receiver id every decrypted message must carry.
 */
export class WeChatCipher {
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(
    private readonly token: string,
    encodingAESKey: string,
    /** AppID, CorpID or SuiteID; '' only where the platform really sends an empty id. */
    readonly receiverId: string,
  ) {
    this.key = parseEncodingAESKey(encodingAESKey);
    this.iv = this.key.subarray(0, 16);
  }

  /** msg_signature over token, timestamp, nonce and the encrypted text. */
  sign(timestamp: string, nonce: string, encrypted: string): string {
    return signatureOf([this.token, timestamp, nonce, encrypted]);
  }

  /** Verifies the signature and only then decrypts. */
  verifyAndDecrypt(signature: string | undefined, timestamp: string, nonce: string, encrypted: string): DecryptedMessage {
    if (!signatureMatches(signature, [this.token, timestamp, nonce, encrypted])) {
      throw new WeChatCryptoError('bad_signature', 'msg_signature does not match the token, timestamp, nonce and Encrypt');
    }
    return this.decrypt(encrypted);
  }

  decrypt(encrypted: string): DecryptedMessage {
    const cipherText = decodeBase64Strict(encrypted);
    if (cipherText.length === 0 || cipherText.length % 16 !== 0) {
      throw new WeChatCryptoError('bad_ciphertext', 'Encrypt is not a non-empty multiple of 16 bytes');
    }
    const decipher = createDecipheriv('aes-256-cbc', this.key, this.iv);
    decipher.setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(cipherText), decipher.final()]);
    const plain = stripPadding(padded);
    if (plain.length < HEADER) {
      throw new WeChatCryptoError('bad_length', 'decrypted text is shorter than its 20-byte header');
    }
    const messageLength = plain.readUInt32BE(RANDOM_PREFIX);
    if (HEADER + messageLength > plain.length) {
      throw new WeChatCryptoError('bad_length', 'msg_len points past the end of the decrypted text');
    }
    const message = plain.toString('utf8', HEADER, HEADER + messageLength);
    const receiverId = plain.toString('utf8', HEADER + messageLength);
    if (receiverId !== this.receiverId) {
      throw new WeChatCryptoError('bad_receiver_id', 'the message is addressed to another AppID/CorpID');
    }
    return { message, receiverId };
  }

  /** Encrypts a message for this receiver; `random` is injectable only for test vectors. */
  encrypt(message: string, random: Buffer = pooledRandomBytes(RANDOM_PREFIX)): string {
    if (random.length !== RANDOM_PREFIX) throw new RangeError('random prefix must be 16 bytes');
    const body = Buffer.from(message, 'utf8');
    const receiver = Buffer.from(this.receiverId, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length, 0);
    const unpadded = HEADER + body.length + receiver.length;
    const padLength = PAD_BLOCK - (unpadded % PAD_BLOCK);
    const plain = Buffer.concat([random, length, body, receiver, Buffer.alloc(padLength, padLength)]);
    const cipher = createCipheriv('aes-256-cbc', this.key, this.iv);
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
  }
}

function stripPadding(padded: Buffer): Buffer {
  const pad = padded[padded.length - 1];
  if (pad < 1 || pad > PAD_BLOCK || pad > padded.length) {
    throw new WeChatCryptoError('bad_padding', `PKCS#7 pad value ${pad} is outside 1..${PAD_BLOCK}`);
  }
  for (let i = padded.length - pad; i < padded.length; i++) {
    if (padded[i] !== pad) throw new WeChatCryptoError('bad_padding', 'PKCS#7 pad bytes are not all equal');
  }
  return padded.subarray(0, padded.length - pad);
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Node's base64 decoder skips characters it does not know; we refuse them instead,
 * so a mangled Encrypt is reported as such rather than decrypted into garbage.
 * Spaces are mapped back to '+' because form decoding of the echostr query turns '+' into ' '.
 */
function decodeBase64Strict(text: string): Buffer {
  const normalized = typeof text === 'string' ? text.replace(/ /g, '+') : '';
  if (normalized.length % 4 !== 0 || !BASE64_PATTERN.test(normalized)) {
    throw new WeChatCryptoError('bad_ciphertext', 'Encrypt is not valid base64');
  }
  return Buffer.from(normalized, 'base64');
}

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * Random bytes cut from a pool filled 4 KiB at a time: every reply needs a 16-byte
 * prefix and a nonce, and one large draw costs far less than many small ones.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomBytes(Math.max(POOL_SIZE, size));
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + size));
  poolOffset += size;
  return bytes;
}

/** A random nonce of digits, as WeChat sends them. */
export function randomNonce(): string {
  return String(pooledRandomBytes(4).readUInt32BE(0));
}

/** WeChat timestamps are whole seconds. */
export function nowSeconds(now: number = Date.now()): string {
  return String(Math.floor(now / 1000));
}
