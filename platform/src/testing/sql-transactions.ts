import pg from 'pg';

/** One transaction as the service sent it: every round trip's SQL, from BEGIN to its end. */
export interface RecordedTransaction {
  readonly statements: string[];
  outcome: 'open' | 'COMMIT' | 'ROLLBACK';
}

/**
 * Records the transactions this process runs on `database` through node-postgres (the service
 * under test runs in the test's process): each round trip's SQL text, BEGIN and COMMIT included.
 * `of(subscription)` keeps the event consumers' transactions of one subscription (those that write
 * its inbox rows). `overlapping()` counts statements sent on a connection while another was still
 * running on it (node-postgres queues them, deprecated since pg 8.x). Patches
 * `pg.Client.prototype.query` until `stop`.
 */
export function recordTransactions(database: string) {
  type Query = (this: pg.Client, ...args: unknown[]) => unknown;
  const prototype = pg.Client.prototype as unknown as { query: Query };
  const original = prototype.query;
  const open = new WeakMap<pg.Client, RecordedTransaction>();
  const transactions: RecordedTransaction[] = [];
  const running = new WeakMap<pg.Client, number>();
  let overlapping = 0;
  prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [config] = args;
    const text =
      typeof config === 'string' ? config : (config as { text?: unknown } | undefined)?.text;
    if (this.database === database && typeof text === 'string') {
      if (text.startsWith('BEGIN')) {
        const transaction: RecordedTransaction = { statements: [], outcome: 'open' };
        transactions.push(transaction);
        open.set(this, transaction);
      }
      const transaction = open.get(this);
      transaction?.statements.push(text);
      if (transaction && (text === 'COMMIT' || text === 'ROLLBACK')) {
        transaction.outcome = text;
        open.delete(this);
      }
    }
    if (this.database !== database) return original.apply(this, args);
    const inFlight = running.get(this) ?? 0;
    if (inFlight > 0) overlapping += 1;
    running.set(this, inFlight + 1);
    const result = original.apply(this, args);
    const done = () => running.set(this, (running.get(this) ?? 1) - 1);
    if (result instanceof Promise) result.then(done, done);
    else done();
    return result;
  };
  const isConsumerTransaction = (t: RecordedTransaction) =>
    t.statements[0]?.startsWith('BEGIN') === true && t.statements[0].includes('INSERT INTO inbox');
  return {
    /** Every event consumer's transaction (the BEGIN that carries its inbox rows). */
    consumerTransactions: () => transactions.filter(isConsumerTransaction),
    /** Round trips of every consumer transaction so far, BEGIN and COMMIT/ROLLBACK included. */
    consumerStatements: () =>
      transactions.filter(isConsumerTransaction).reduce((n, t) => n + t.statements.length, 0),
    of: (subscription: string) =>
      transactions.filter((t) =>
        t.statements.some(
          (s) => s.includes('INSERT INTO inbox') && s.includes(`'${subscription}'`),
        ),
      ),
    overlapping: () => overlapping,
    clear: () => {
      transactions.splice(0);
      overlapping = 0;
    },
    stop: () => {
      prototype.query = original;
    },
  };
}
