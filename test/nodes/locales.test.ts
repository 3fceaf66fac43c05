/**
 * Every node's messages in both languages: the same keys, and no Chinese text left in
 * English. A value may be the same in both only when it is a name or a token that is
 * not translated (URL, AppSecret, a placeholder such as ${DCN_SENDERS}).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const nodesDir = join(__dirname, '..', '..', '..', 'nodes');
const UNTRANSLATED = /^(URL|ETag|AppSecret|MBO|Mobile Services|public|wxbridge_|\$batch|__\w+__|\$\{\w+\})$/;

type Messages = { [key: string]: string | Messages };

function flatten(messages: Messages, prefix = ''): Map<string, string> {
  const flat = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') flat.set(prefix + key, value);
    else for (const [k, v] of flatten(value, `${prefix}${key}.`)) flat.set(k, v);
  }
  return flat;
}

function messagesOf(dir: string, language: string): Map<string, string> {
  const folder = join(nodesDir, dir, 'locales', language);
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  return new Map(files.flatMap((f) => [...flatten(JSON.parse(readFileSync(join(folder, f), 'utf8')) as Messages)]));
}

describe('node messages in en-US and zh-CN', () => {
  for (const dir of readdirSync(nodesDir).filter((d) => readdirSync(join(nodesDir, d)).includes('locales'))) {
    it(`${dir}: the same keys, every one translated`, () => {
      const en = messagesOf(dir, 'en-US');
      const zh = messagesOf(dir, 'zh-CN');
      assert.deepEqual([...zh.keys()].sort(), [...en.keys()].sort());
      const untranslated = [...en].filter(([key, text]) => zh.get(key) === text && !UNTRANSLATED.test(text)).map(([key, text]) => `${key}: ${text}`);
      assert.deepEqual(untranslated, []);
    });
  }
});
