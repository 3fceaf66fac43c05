/**
 * One key for one message: a SHA-256 over a canonical form of everything the message
 * holds. Two deliveries of the same content (a retry with a new nonce, a new signature
 * or new AES random bytes) get the same key; any two messages that differ in any
 * field, however deeply nested, get different keys. Used for the de-duplication of
 * WeChat callbacks and of C4C notifications.
 *
 * The walk is iterative: the input comes from outside (a 1 MiB JSON body can nest half
 * a million levels), so nothing here may recurse on it.
 */
import { createHash } from 'node:crypto';

export class ContentKeyError extends Error {
  readonly code = 'too_deep';
  constructor(readonly maxDepth: number) {
    super(`the content is nested more than ${maxDepth} levels deep`);
    this.name = 'ContentKeyError';
  }
}

export interface ContentKey {
  /** base64url SHA-256 of the canonical form. */
  key: string;
  /** Length of the canonical form in characters: about the size of the content as compact JSON. */
  size: number;
}

/** Accepts any JSON-like value; objects are taken with their keys sorted, so key order does not matter. */
export function contentKey(value: unknown, maxDepth = 64): ContentKey {
  const parts: string[] = [];
  let size = 0;
  const write = (text: string) => {
    parts.push(text);
    size += text.length;
  };
  // A task is either a value to write at a depth, or punctuation to write as it is.
  const stack: Array<{ value: unknown; depth: number } | string> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (typeof task === 'string') {
      write(task);
      continue;
    }
    const { value: current, depth } = task;
    if (current === null || current === undefined) write('null');
    else if (typeof current === 'string') write(JSON.stringify(current));
    else if (typeof current === 'number' || typeof current === 'boolean' || typeof current === 'bigint') write(String(current));
    else if (typeof current === 'object') {
      if (depth >= maxDepth) throw new ContentKeyError(maxDepth);
      pushContainer(stack, current as object, depth + 1);
    } else write('null');
  }
  return { key: createHash('sha256').update(parts.join('')).digest('base64url'), size };
}

/** Pushes a container's closing mark, members and opening mark so they pop in writing order. */
function pushContainer(stack: Array<{ value: unknown; depth: number } | string>, container: object, depth: number): void {
  if (Array.isArray(container)) {
    stack.push(']');
    for (let i = container.length - 1; i >= 0; i--) {
      stack.push({ value: container[i], depth });
      if (i > 0) stack.push(',');
    }
    stack.push('[');
    return;
  }
  const record = container as Record<string, unknown>;
  const names = Object.keys(record).sort();
  stack.push('}');
  for (let i = names.length - 1; i >= 0; i--) {
    stack.push({ value: record[names[i]], depth });
    stack.push(JSON.stringify(names[i]) + ':');
    if (i > 0) stack.push(',');
  }
  stack.push('{');
}
