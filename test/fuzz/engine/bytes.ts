/**
 * Format-blind mutations of a message's bytes: bit flips, byte insertions and
 * deletions, truncation, duplication and splices of valid fragments (a dictionary of
 * tokens of the format), one to a few per case, as a coverage-blind fuzzer does.
 */
import { Random } from './random';

/** Bytes that often mean something to a parser: delimiters, NUL, high bytes, UTF-8 lead bytes. */
const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x22, 0x26, 0x27, 0x2c, 0x2f, 0x3a, 0x3c, 0x3d, 0x3e, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xe2, 0xef, 0xf0, 0xff];

type ByteMutation = (rng: Random, input: Buffer, dictionary: readonly string[]) => Buffer;

const flipBit: ByteMutation = (rng, input) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const at = rng.int(out.length);
  out[at] ^= 1 << rng.int(8);
  return out;
};

const setByte: ByteMutation = (rng, input) => {
  if (input.length === 0) return Buffer.from([rng.pick(INTERESTING)]);
  const out = Buffer.from(input);
  out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(256);
  return out;
};

const insertBytes: ByteMutation = (rng, input) => {
  const at = rng.int(input.length + 1);
  const inserted = rng.chance(0.5) ? rng.bytes(rng.range(1, 16)) : Buffer.alloc(rng.range(1, 8), rng.pick(INTERESTING));
  return Buffer.concat([input.subarray(0, at), inserted, input.subarray(at)]);
};

const deleteRange: ByteMutation = (rng, input) => {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const length = rng.range(1, Math.min(32, input.length - at));
  return Buffer.concat([input.subarray(0, at), input.subarray(at + length)]);
};

const truncate: ByteMutation = (rng, input) => input.subarray(0, rng.int(input.length + 1));

const duplicateRange: ByteMutation = (rng, input) => {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const piece = input.subarray(at, at + rng.range(1, 64));
  const copies = rng.chance(0.9) ? rng.range(1, 4) : rng.range(16, 256);
  return Buffer.concat([input.subarray(0, at), ...Array<Buffer>(copies).fill(piece), input.subarray(at)]);
};

const splice: ByteMutation = (rng, input, dictionary) => {
  if (dictionary.length === 0) return insertBytes(rng, input, dictionary);
  const at = rng.int(input.length + 1);
  const cut = rng.chance(0.3) ? rng.int(8) : 0;
  return Buffer.concat([input.subarray(0, at), Buffer.from(rng.pick(dictionary), 'utf8'), input.subarray(at + cut)]);
};

const swapRanges: ByteMutation = (rng, input) => {
  if (input.length < 4) return input;
  const a = rng.int(input.length / 2);
  const b = rng.range(Math.ceil(input.length / 2), input.length - 1);
  const len = rng.range(1, Math.min(16, b - a));
  const out = Buffer.from(input);
  input.copy(out, a, b, Math.min(b + len, input.length));
  input.copy(out, b, a, a + len);
  return out;
};

const MUTATIONS: ReadonlyArray<readonly [number, ByteMutation]> = [
  [3, flipBit],
  [3, setByte],
  [2, insertBytes],
  [2, deleteRange],
  [1, truncate],
  [1, duplicateRange],
  [3, splice],
  [1, swapRanges],
];

/** One to `maxRounds` mutations of `input`; `dictionary` holds fragments of the format to splice in. */
export function mutateBytes(rng: Random, input: Buffer, dictionary: readonly string[] = [], maxRounds = 4): Buffer {
  let out = input;
  const rounds = rng.range(1, maxRounds);
  for (let i = 0; i < rounds; i++) out = rng.weighted(MUTATIONS)(rng, out, dictionary);
  return out;
}

/** The same on text; the result is read back as UTF-8, as a server would. */
export function mutateText(rng: Random, input: string, dictionary: readonly string[] = [], maxRounds = 4): string {
  return mutateBytes(rng, Buffer.from(input, 'utf8'), dictionary, maxRounds).toString('utf8');
}

/** Random bytes of a random length up to `max`. */
export function randomBytes(rng: Random, max: number): Buffer {
  return rng.bytes(rng.size(max));
}

/** Text made of format fragments and random characters: closer to the format than random bytes. */
export function randomFragments(rng: Random, dictionary: readonly string[], maxParts = 24): string {
  const parts: string[] = [];
  const count = rng.range(1, maxParts);
  for (let i = 0; i < count; i++) parts.push(rng.chance(0.7) && dictionary.length ? rng.pick(dictionary) : rng.bytes(rng.range(1, 8)).toString('latin1'));
  return parts.join('');
}
