/**
 * What the outbox and delivery tests share: the receiver's devices, WF-DCN requests, a
 * clock the test moves, and the stores both suites run on (SQLite files in a temporary
 * folder, PostgreSQL tables under a prefix of their own in the run's schema).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device, DeviceChannel, OutboxMessage, WfDcnRequest } from '../../../lib/dcn/types';
import { SqlOutbox } from '../../../lib/dcn/outbox';
import { Store, StoreConfig, createStore } from '../../../lib/store';
import { DEMO_DCN } from '../../../sandbox/demo-accounts';
import { pgConfig, usePostgresSchema } from '../store/pg-support';

export const T0 = Date.UTC(2024, 4, 6, 9, 0, 0);
export const SECURITY = DEMO_DCN.security;

/** A time the test sets and moves; nothing sleeps to let a lease run out. */
export class Clock {
  time = T0;
  readonly now = () => this.time;
  advance(seconds: number): void {
    this.time += seconds * 1000;
  }
}

export function device(user: string, deviceId: string, channel: DeviceChannel, address = user): Device {
  return { security: SECURITY, user, deviceId, channel, address, msDevice: '', registeredAt: new Date(T0).toISOString() };
}

/** SUPAdmin's devices in the fan-out scenario: WeCom and Mobile Services. */
export const SUPADMIN_DEVICES: Device[] = [device(DEMO_DCN.receiver, 'wecom-SUPAdmin', 'wecom', DEMO_DCN.wecomUser), device(DEMO_DCN.receiver, 'ms-SUPAdmin', 'mobile-services', DEMO_DCN.mobileServicesUser)];

export function wfRequest(id: string, overrides: Partial<WfDcnRequest> = {}): WfDcnRequest {
  return {
    op: ':upsert',
    id,
    to: [DEMO_DCN.receiver],
    subject: 'Trip request approval required',
    from: 'travel-backend',
    body: 'Trip TR-1001 to Shanghai, 6 to 8 May',
    received: '2024-05-06T17:00:00+08:00',
    read: false,
    priority: true,
    data: [],
    ...overrides,
  };
}

/** `count` requests of one device each, spread over `channel`, committed one transaction each. */
export async function commitMany(store: Store, outbox: SqlOutbox, count: number, channel: DeviceChannel = 'wecom'): Promise<string[]> {
  const ids: string[] = [];
  const db = store.database();
  for (let i = 0; i < count; i++) {
    const created = await db.transaction((tx) => outbox.createInTx(tx, wfRequest(`R-${i}`), [device(`user-${i % 7}`, `d-${i}`, channel)]));
    ids.push(...created.map((m) => m.messageId));
  }
  return ids;
}

export const idsOf = (messages: OutboxMessage[]) => messages.map((m) => m.messageId);

export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** A store on a database of its own for this test. */
  open(): Store;
  /** Another store (handle or pool) on the same database as the last open(). */
  openAgain(): Store;
  /** Where the last open() keeps its tables: the SQLite file, or the PostgreSQL schema and table prefix. */
  where(): { path?: string; schema?: string; prefix?: string };
  /** The configuration that opens the last open()'s database again, e.g. in another process. */
  config(): StoreConfig;
}

/**
 * Call inside a describe: runs `suite` on SQLite and on PostgreSQL. Each open() is a
 * new database (a file; a table prefix), removed when the suite ends.
 */
export function onBothStores(suite: (kind: StoreKind) => void): void {
  describe('on SQLite', () => {
    const dirs: string[] = [];
    let path = '';
    after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    suite({
      name: 'sqlite',
      open: () => {
        const dir = mkdtempSync(join(tmpdir(), 'wxb-dcn-'));
        dirs.push(dir);
        path = join(dir, 'outbox.sqlite');
        return createStore({ kind: 'sqlite', path });
      },
      openAgain: () => createStore({ kind: 'sqlite', path }),
      where: () => ({ path }),
      config: () => ({ kind: 'sqlite', path }),
    });
  });
  describe('on PostgreSQL', () => {
    const schema = usePostgresSchema();
    let prefix = '';
    suite({
      name: 'postgres',
      open: () => {
        prefix = `t${randomBytes(4).toString('hex')}_`;
        return createStore(pgConfig(schema, { tablePrefix: prefix }));
      },
      openAgain: () => createStore(pgConfig(schema, { tablePrefix: prefix })),
      where: () => ({ schema, prefix }),
      config: () => pgConfig(schema, { tablePrefix: prefix }),
    });
  });
}

/** Waits (polling, real time) until `check` holds; for work the worker does in the background. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
