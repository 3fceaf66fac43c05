/**
 * The device registry: which devices a user of a security configuration has, each
 * reached through one channel (a WeCom UserID, a WeChat OpenID, a Mobile Services
 * user and device, or the store's inbox). SMP's "activated" users: a WF-DCN fan-out
 * creates one message per device of each receiver found here (devicesInTx, inside the
 * fan-out's transaction). Devices are managed from a flow and over HTTP; a device is
 * (security, user, deviceId), and registering it again replaces its channel and address.
 *
 * One table, module `dcn_registry`.
 */
import type { MigrationStep, SqlDatabase, SqlExecutor, SqlValue } from '../store/sql';
import { checkName, empty, expected, isPlainObject } from './checks';
import { ModuleTables } from '../store/module-tables';
import { DEVICE_CHANNELS, DcnError, Device, DeviceChannel } from './types';

const MODULE = 'dcn_registry';

const STEPS: MigrationStep[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS {dcn_devices} (
       security TEXT NOT NULL,
       user_name TEXT NOT NULL,
       device_id TEXT NOT NULL,
       channel TEXT NOT NULL,
       address TEXT NOT NULL,
       ms_device TEXT NOT NULL,
       registered_at INTEGER NOT NULL,
       PRIMARY KEY (security, user_name, device_id)
     )`,
    postgres: `CREATE TABLE IF NOT EXISTS {dcn_devices} (
       security TEXT COLLATE "C" NOT NULL,
       user_name TEXT COLLATE "C" NOT NULL,
       device_id TEXT COLLATE "C" NOT NULL,
       channel TEXT NOT NULL,
       address TEXT NOT NULL,
       ms_device TEXT NOT NULL,
       registered_at BIGINT NOT NULL,
       PRIMARY KEY (security, user_name, device_id)
     )`,
  },
];

export const DEFAULT_DEVICE_LIST_LIMIT = 1000;
/** Users looked up per statement, well under either database's limit of parameters. */
const USERS_PER_QUERY = 500;

/** A device to register: msDevice may be left out (push to the user); an inbox's address defaults to the user. */
export type DeviceRegistration = Omit<Device, 'registeredAt' | 'msDevice' | 'address'> & { address?: string; msDevice?: string };

export interface DeviceFilter {
  security?: string;
  user?: string;
  /** At most this many devices (default 1000). */
  limit?: number;
}

interface DeviceRow {
  security: string;
  user_name: string;
  device_id: string;
  channel: string;
  address: string;
  ms_device: string;
  registered_at: number | string;
}

const COLUMNS = 'security, user_name, device_id, channel, address, ms_device, registered_at';

export class DeviceRegistry {
  private readonly tables: ModuleTables;
  private readonly now: () => number;

  constructor(
    private readonly db: SqlDatabase,
    options: { now?: () => number } = {},
  ) {
    this.tables = new ModuleTables(db, MODULE, STEPS);
    this.now = options.now ?? Date.now;
  }

  migrate(): Promise<void> {
    return this.tables.migrated();
  }

  /** Registers the device (checked field by field), or replaces its channel and address; resolves with what is stored. */
  async register(registration: DeviceRegistration): Promise<Device> {
    const device = checkDeviceRegistration(registration);
    await this.migrate();
    const now = this.now();
    await this.db.run(
      `INSERT INTO {dcn_devices} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (security, user_name, device_id) DO UPDATE SET channel = excluded.channel, address = excluded.address, ms_device = excluded.ms_device, registered_at = excluded.registered_at`,
      [device.security, device.user, device.deviceId, device.channel, device.address, device.msDevice, now],
    );
    return { ...device, registeredAt: new Date(now).toISOString() };
  }

  /** Removes one device of the user, or all of them without deviceId; resolves with how many went. */
  async unregister(security: string, user: string, deviceId?: string): Promise<number> {
    field(security, 'security');
    field(user, 'user');
    await this.migrate();
    if (deviceId === undefined) return this.db.run('DELETE FROM {dcn_devices} WHERE security = ? AND user_name = ?', [security, user]);
    field(deviceId, 'deviceId');
    return this.db.run('DELETE FROM {dcn_devices} WHERE security = ? AND user_name = ? AND device_id = ?', [security, user, deviceId]);
  }

  /** The devices of these users of the security configuration, inside the caller's transaction: in the users' order, then by device id. */
  async devicesInTx(tx: SqlExecutor, security: string, users: string[]): Promise<Device[]> {
    await this.migrate();
    const found = new Map<string, Device[]>();
    for (let i = 0; i < users.length; i += USERS_PER_QUERY) {
      const chunk = users.slice(i, i + USERS_PER_QUERY);
      const rows = await tx.all<DeviceRow>(
        `SELECT ${COLUMNS} FROM {dcn_devices} WHERE security = ? AND user_name IN (${chunk.map(() => '?').join(', ')}) ORDER BY user_name, device_id`,
        [security, ...chunk],
      );
      for (const row of rows) {
        const devices = found.get(row.user_name) ?? [];
        devices.push(deviceOf(row));
        found.set(row.user_name, devices);
      }
    }
    return users.flatMap((user) => found.get(user) ?? []);
  }

  /** Registered devices, by security configuration, user and device id; optionally of one configuration or user. */
  async list(filter: DeviceFilter = {}): Promise<Device[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (filter.security !== undefined) {
      conditions.push('security = ?');
      params.push(field(filter.security, 'security'));
    }
    if (filter.user !== undefined) {
      conditions.push('user_name = ?');
      params.push(field(filter.user, 'user'));
    }
    const limit = filter.limit ?? DEFAULT_DEVICE_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new DcnError(400, 'dcn_bad_limit', `limit must be a whole number of at least 1 (got ${String(limit)})`, { field: 'limit', value: String(limit) });
    params.push(limit);
    await this.migrate();
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = await this.db.all<DeviceRow>(`SELECT ${COLUMNS} FROM {dcn_devices} ${where} ORDER BY security, user_name, device_id LIMIT ?`, params);
    return rows.map(deviceOf);
  }
}

/**
 * A registration from a flow or an HTTP body, checked field by field: security, user
 * and deviceId (names), channel (one of DEVICE_CHANNELS), address (required except for
 * the inbox, whose address is the user), msDevice (Mobile Services only).
 */
export function checkDeviceRegistration(value: unknown): Omit<Device, 'registeredAt'> {
  if (!isPlainObject(value)) throw expected('object', 'device', value);
  const security = field(value.security, 'security');
  const user = field(value.user, 'user');
  const deviceId = field(value.deviceId, 'deviceId');
  const channel = deviceChannel(value.channel);
  const address = value.address === undefined || value.address === null || value.address === '' ? (channel === 'inbox' ? user : '') : field(value.address, 'address');
  if (address === '') throw new DcnError(400, 'dcn_device_not_supplied', 'address not supplied in the device', { field: 'address' });
  const msDevice = value.msDevice === undefined || value.msDevice === null || value.msDevice === '' ? '' : field(value.msDevice, 'msDevice');
  if (msDevice && channel !== 'mobile-services') {
    throw new DcnError(400, 'dcn_ms_device_channel', `msDevice is for the mobile-services channel only, not ${channel}`, { field: 'msDevice', channel });
  }
  return { security, user, deviceId, channel, address, msDevice };
}

function deviceChannel(value: unknown): DeviceChannel {
  const found = DEVICE_CHANNELS.find((c) => c === value);
  if (!found) {
    const given = typeof value === 'string' ? value.slice(0, 60) : typeof value;
    throw new DcnError(400, 'dcn_bad_channel', `channel must be one of ${DEVICE_CHANNELS.join(', ')} (got ${given})`, { field: 'channel', value: given, channels: DEVICE_CHANNELS.join(', ') });
  }
  return found;
}

/** A registry name: a non-empty string within the name limits, trimmed. */
function field(value: unknown, name: string): string {
  if (typeof value !== 'string') throw expected('string', name, value);
  const text = value.trim();
  if (text === '') throw empty(name);
  return checkName(text, name);
}

function deviceOf(row: DeviceRow): Device {
  return {
    security: row.security,
    user: row.user_name,
    deviceId: row.device_id,
    channel: row.channel as DeviceChannel,
    address: row.address,
    msDevice: row.ms_device,
    registeredAt: new Date(Number(row.registered_at)).toISOString(),
  };
}
