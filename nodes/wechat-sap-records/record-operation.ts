/**
 * What wechat-sap-records does: one record operation per message on its collection, in
 * the store selected on the node (or the embedded SQLite file in the userDir, which the
 * node opens on first use and closes when it closes). Results replace msg.payload and
 * go on with the message; refusals (a conflict, an invalid input) and store failures go
 * to done(err) with their code, for Catch nodes.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import {
  RecordError,
  RecordMeta,
  RecordOperation,
  Records,
  Store,
  checkCollection,
  checkIfVersion,
  checkListQuery,
  checkUnique,
  closeThen,
  createStore,
  embeddedStoreConfig,
  recordKey,
  recordOperation,
} from '../../lib/store';
import type { WeChatSapRecordsDef } from './wechat-sap-records';
import { errorText, flowError } from '../shared/errors';
import { userDir } from '../shared/settings';
import { NodeStatus } from '../shared/status';
import { storeSelection } from '../shared/store-selection';

const TYPE = 'wechat-sap-records';
/** Keys are up to 200 characters; the status shows the start of a long one. */
const STATUS_KEY_LENGTH = 40;

interface RecordsMessage extends NodeMessage {
  operation?: unknown;
  key?: unknown;
  ifVersion?: unknown;
  where?: unknown;
  unique?: unknown;
  prefix?: unknown;
  limit?: unknown;
  record?: RecordMeta | null;
  records?: RecordMeta[];
}

export function startRecordOperation(RED: NodeAPI, node: Node, config: WeChatSapRecordsDef): void {
  const status = new NodeStatus(node);
  const collection = (config.collection ?? '').trim();
  /** The node's own operation, checked with each message (an unknown one refuses every message). */
  const fixed: unknown = config.operation;
  const selection = storeSelection(RED, config.store, RED._('wechat-sap-records.errors.noStore'));
  /** The embedded file, when this node opened it: its own, closed with it. */
  let embedded: Store | null = null;
  let records: Records | null = null;
  /** Operations still running; closing waits for them, so none reopens a closed store. */
  const running = new Set<Promise<unknown>>();

  if (selection.kind === 'unusable') {
    node.error(RED._('wechat-sap-records.errors.storeUnusable', { problem: selection.problem }));
    status.error('wechat-sap-records.status.noStore');
  }
  try {
    checkCollection(collection);
    if (fixed !== 'msg') recordOperation(fixed);
  } catch (err) {
    node.error(errorText(RED, TYPE, err));
    status.error('wechat-sap-records.status.badConfig');
  }

  function recordsInStore(): Records {
    if (selection.kind === 'unusable') throw new Error(RED._('wechat-sap-records.errors.storeUnusable', { problem: selection.problem }));
    if (!records) {
      const store = selection.kind === 'store' ? selection.store : (embedded = createStore(embeddedStoreConfig(userDir(RED))));
      records = new Records(store);
    }
    return records;
  }

  /** Runs the message's operation, sets its results on msg, and says what it did (the status text). */
  async function perform(msg: RecordsMessage, operation: RecordOperation): Promise<string> {
    const kept = recordsInStore();
    switch (operation) {
      case 'get': {
        const key = recordKey(msg.key);
        const found = await kept.get(collection, key);
        msg.payload = found ? found.value : null;
        msg.record = found ? found.meta : null;
        return found ? statusOf('get', { record: shown(key), version: found.meta.version }) : statusOf('getNone', { record: shown(key) });
      }
      case 'insert':
      case 'put': {
        const key = recordKey(msg.key);
        const stored =
          operation === 'insert'
            ? await kept.insert(collection, key, msg.payload, { unique: checkUnique(msg.unique) })
            : await kept.put(collection, key, msg.payload, { ifVersion: checkIfVersion(msg.ifVersion) });
        msg.payload = stored.value;
        msg.record = stored.meta;
        return statusOf(operation, { record: shown(key), version: stored.meta.version });
      }
      case 'delete': {
        const key = recordKey(msg.key);
        const removed = await kept.delete(collection, key, { ifVersion: checkIfVersion(msg.ifVersion) });
        msg.payload = removed;
        return statusOf(removed ? 'delete' : 'deleteNone', { record: shown(key) });
      }
      case 'list': {
        const found = await kept.list(collection, checkListQuery({ where: msg.where, prefix: msg.prefix, limit: msg.limit }));
        msg.payload = found.map((r) => r.value);
        msg.records = found.map((r) => r.meta);
        return statusOf('list', { collection, count: found.length });
      }
      case 'next-id': {
        const id = await kept.nextId(collection);
        msg.payload = id;
        return statusOf('nextId', { collection, id });
      }
    }
  }

  function statusOf(what: string, params: Record<string, string | number>): string {
    return RED._(`wechat-sap-records.status.${what}`, params);
  }

  function shown(key: string): string {
    const chars = [...key];
    const start = chars.length > STATUS_KEY_LENGTH ? `${chars.slice(0, STATUS_KEY_LENGTH).join('')}…` : key;
    return `${collection}/${start}`;
  }

  function errorStatus(err: unknown): string {
    if (err instanceof RecordError && err.code === 'record_conflict') return RED._('wechat-sap-records.status.conflict', { record: `${err.params.collection}/${err.params.key}` });
    if (err instanceof RecordError) return RED._('wechat-sap-records.status.invalid');
    return RED._('wechat-sap-records.status.failed');
  }

  node.on('input', (msg, send, done) => {
    const message = msg as RecordsMessage;
    const work = (async () => perform(message, recordOperation(fixed === 'msg' ? message.operation : fixed)))();
    running.add(work);
    work.then(
      (text) => {
        running.delete(work);
        status.ok(text);
        send(msg);
        done();
      },
      (err: unknown) => {
        running.delete(work);
        status.error(errorStatus(err));
        // A Catch node gets a copy of the message: for a unique insert's conflict, with the record that matched.
        if (err instanceof RecordError && err.stored) message.record = err.stored;
        done(flowError(RED, TYPE, err));
      },
    );
  });

  node.on('close', (done: (err?: Error) => void) => {
    void Promise.allSettled([...running]).then(() => {
      status.clear();
      const owned = embedded;
      embedded = null;
      records = null;
      closeThen(owned, done);
    });
  });
}
