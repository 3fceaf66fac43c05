/**
 * A module that owns tables in the store (flows' records, the WF-DCN cache, registry
 * and outbox) brings them to its last schema step through this: once per object,
 * and again after a failure (the database may be back by the next call).
 */
import { MigrationStep, SqlDatabase, versionKey } from './sql';

const MIGRATE_ATTEMPTS = 5;

export class ModuleTables {
  private ready: Promise<void> | null = null;

  constructor(
    private readonly db: SqlDatabase,
    private readonly module: string,
    private readonly steps: MigrationStep[],
  ) {}

  /** Resolves once the tables are there; concurrent callers share one migration. */
  migrated(): Promise<void> {
    this.ready ??= this.migrate().catch((err: Error) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /**
   * A database already up to date is only read, not locked. Two SQLite handles in one
   * process migrating the same new file cannot wait for each other (the driver blocks
   * the thread the other needs), so the one that found the file busy yields and looks again.
   */
  private async migrate(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (await this.upToDate()) return;
      try {
        return await this.db.migrate(this.module, this.steps);
      } catch (err) {
        if (!isSqliteBusy(err) || attempt >= MIGRATE_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  private async upToDate(): Promise<boolean> {
    const rows = await this.db.all<{ value: string }>('SELECT value FROM {meta} WHERE name = ?', [versionKey(this.module)]);
    return rows[0] !== undefined && Number(rows[0].value) === this.steps.length;
  }
}

function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
