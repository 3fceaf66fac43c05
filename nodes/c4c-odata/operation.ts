/**
 * What c4c-odata does: one OData operation on a C4C system per message (query, read, create,
 * update, delete, $batch). Entity set, key, filter, body and ETag come from typed
 * inputs, evaluated with the callback form of evaluateNodeProperty so JSONata and
 * async context stores work. Results are plain objects; failures reach Catch nodes
 * through done(err) with status, code and message, never with credentials.
 */
import type { NodeAPI, NodeMessage } from 'node-red';
import type { C4COdataDef, C4COdataNode, C4COperation } from './c4c-odata';
import { evaluateProperty } from '../shared/properties';
import { flowError } from '../shared/errors';
import { C4CError, EntityKey } from '../../lib/c4c';
import type { C4CSystemNode } from '../c4c-system/c4c-system';
import { configNode } from '../shared/config-node';
import { NodeStatus } from '../shared/status';
import { numericSetting } from '../shared/numeric-setting';


/** What a downstream node finds in msg.c4c. */
export interface C4CResultInfo {
  operation: C4COperation;
  entitySet?: string;
  status?: number;
  count?: number;
  next?: string;
  pages?: number;
  etag?: string;
  etags?: Array<string | undefined>;
}

type Msg = NodeMessage & { c4c?: C4CResultInfo; etag?: string };

const OPERATIONS: C4COperation[] = ['query', 'read', 'create', 'update', 'delete', 'batch'];

/** An empty field is "not given"; anything else is checked by the client (a whole number ≥ 0). */
function optionalNumber(value: string | undefined): number | undefined {
  return value === '' || value === undefined ? undefined : Number(value);
}

export function startOperation(RED: NodeAPI, node: C4COdataNode, config: C4COdataDef): void {
  const evaluate = (value: string, type: string, msg: NodeMessage) => evaluateProperty(RED, node, value, type, msg);
  const system = configNode<C4CSystemNode>(RED, config.system, 'c4c-system');
  const status = new NodeStatus(node);
  const operation: C4COperation = OPERATIONS.includes(config.operation) ? config.operation : 'query';
  // The editor's query options are fixed per node, so they are built once.
  const readOptions = { select: config.select || undefined, expand: config.expand || undefined };
  const queryOptions = {
    ...readOptions,
    orderby: config.orderby || undefined,
    top: optionalNumber(config.top),
    skip: optionalNumber(config.skip),
    inlinecount: config.inlinecount === true,
    allPages: config.allPages === true,
    maxPages: numericSetting(config.maxPages, 100, 1),
  };
  const needsKey = operation === 'read' || operation === 'update' || operation === 'delete';

  if (!system) status.error('c4c-odata.status.noSystem');
  else if (!system.client) status.error('c4c-odata.status.badSystem');

  async function optional(value: string, type: string, msg: NodeMessage): Promise<unknown> {
    // An empty string property means "not given"; msg/flow/global properties may be undefined.
    if ((type === 'str' || !type) && !value) return undefined;
    return evaluate(value, type, msg);
  }

  async function run(msg: Msg): Promise<void> {
    const client = system?.client;
    if (!system || !client) throw new C4CError('input', 0, 'NO_SYSTEM', RED._('c4c-odata.errors.noSystem'));
    const call = system.callAuth(msg);
    const info: C4CResultInfo = { operation };
    if (operation === 'batch') {
      msg.payload = await client.batch(await optional(config.body, config.bodyType || 'msg', msg), call);
      msg.c4c = info;
      return;
    }
    const entitySet = await evaluate(config.entitySet, config.entitySetType || 'str', msg);
    info.entitySet = typeof entitySet === 'string' ? entitySet : undefined;
    const set = String(entitySet ?? '');

    if (operation === 'query') {
      const filter = await optional(config.filter, config.filterType, msg);
      if (filter !== undefined && typeof filter !== 'string') throw new C4CError('input', 0, 'BAD_FILTER', RED._('c4c-odata.errors.filter'));
      const res = await client.query(set, { ...queryOptions, filter: filter as string | undefined }, call);
      msg.payload = res.results;
      Object.assign(info, { count: res.count, next: res.next, pages: res.pages, etags: res.etags });
      msg.c4c = info;
      return;
    }

    const key = needsKey ? ((await evaluate(config.key, config.keyType || 'msg', msg)) as EntityKey | undefined) : undefined;
    if (needsKey && (key === undefined || key === null || key === '')) throw new C4CError('input', 0, 'NO_KEY', RED._('c4c-odata.errors.key'));
    const body = operation === 'create' || operation === 'update' ? await evaluate(config.body, config.bodyType || 'msg', msg) : undefined;
    const etagValue = operation === 'update' || operation === 'delete' ? await optional(config.etag, config.etagType, msg) : undefined;
    const etag = typeof etagValue === 'string' && etagValue ? etagValue : undefined;

    const res =
      operation === 'read'
        ? await client.read(set, key as EntityKey, readOptions, call)
        : operation === 'create'
          ? await client.create(set, body, call)
          : operation === 'update'
            ? await client.update(set, key as EntityKey, body, { etag }, call)
            : await client.remove(set, key as EntityKey, { etag }, call);
    if (operation === 'read' || operation === 'create' || res.entity) msg.payload = res.entity;
    info.status = res.status;
    info.etag = res.etag;
    if (res.etag) msg.etag = res.etag;
    else if (operation === 'delete') delete msg.etag;
    msg.c4c = info;
  }

  node.on('input', (msg: NodeMessage, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
    status.working(`c4c-odata.op.${operation}`);
    run(msg as Msg).then(
      () => {
        // query: how many entities came back; $batch: how many parts were answered.
        const counted = operation === 'query' ? 'rows' : operation === 'batch' ? 'parts' : null;
        const text = counted ? RED._(`c4c-odata.status.${counted}`, { count: (msg.payload as unknown[]).length }) : `c4c-odata.op.${operation}`;
        status.ok(text);
        send(msg);
        done();
      },
      (err: Error) => {
        const e = err instanceof C4CError ? err : new C4CError('input', 0, 'EVAL', err.message);
        status.error(e.status ? `${e.status} ${e.kind}` : e.kind);
        // Keep the normalised fields on the message for flows that branch on them.
        (msg as NodeMessage & { c4cError?: object }).c4cError = e.toJSON();
        done(flowError(RED, 'c4c-odata', e));
      },
    );
  });
}
