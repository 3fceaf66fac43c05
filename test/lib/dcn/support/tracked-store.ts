/**
 * A store whose database() tells test doubles when a transaction commits (so an
 * in-memory outbox keeps only what was committed) and can make a chosen statement
 * fail inside a transaction (so a rollback happens in the real database). What a
 * savepoint that was undone registered is dropped with it.
 */
import type { SqlDatabase, SqlExecutor, SqlTransaction, SqlValue } from '../../../../lib/store/sql';
import type { Store } from '../../../../lib/store/types';

export interface StatementFault {
  /** Fails the statement whose SQL contains this, */
  sql: string;
  /** on its nth run inside transactions (1 = the first), */
  nth: number;
  error: Error;
}

export class TrackedStore {
  readonly store: Store;
  private readonly commitHooks = new WeakMap<SqlExecutor, Array<() => void>>();
  private fault: (StatementFault & { seen: number }) | null = null;
  /** Transactions committed through this store so far. */
  commits = 0;

  constructor(inner: Store) {
    const db = this.tracked(inner.database());
    this.store = new Proxy(inner, {
      get(target, property) {
        if (property === 'database') return () => db;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Runs fn once the transaction of `tx` has committed; throws when tx is not one of ours. */
  afterCommit(tx: SqlExecutor, fn: () => void): void {
    const hooks = this.commitHooks.get(tx);
    if (!hooks) throw new Error('not inside a transaction of the tracked store');
    hooks.push(fn);
  }

  failStatement(fault: StatementFault): void {
    this.fault = { ...fault, seen: 0 };
  }

  private tracked(db: SqlDatabase): SqlDatabase {
    return {
      dialect: db.dialect,
      run: (sql, params) => db.run(sql, params),
      all: <Row extends object>(sql: string, params?: SqlValue[]) => db.all<Row>(sql, params),
      migrate: (module, steps) => db.migrate(module, steps),
      transaction: async <T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> => {
        const hooks: Array<() => void> = [];
        const result = await db.transaction((inner) => {
          const tx: SqlTransaction = {
            dialect: inner.dialect,
            run: (sql, params) => this.faulty(sql).then(() => inner.run(sql, params)),
            all: <Row extends object>(sql: string, params?: SqlValue[]) => this.faulty(sql).then(() => inner.all<Row>(sql, params)),
            savepoint: async <P>(part: () => Promise<P>): Promise<P> => {
              const before = hooks.length;
              try {
                return await inner.savepoint(part);
              } catch (err) {
                hooks.length = before;
                throw err;
              }
            },
          };
          this.commitHooks.set(tx, hooks);
          return work(tx);
        });
        this.commits++;
        for (const hook of hooks) hook();
        return result;
      },
    };
  }

  private async faulty(sql: string): Promise<void> {
    const fault = this.fault;
    if (!fault || !sql.includes(fault.sql)) return;
    fault.seen++;
    if (fault.seen === fault.nth) throw fault.error;
  }
}
