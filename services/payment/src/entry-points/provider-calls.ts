import type { QueryResultRows, Sql } from '@orderly/platform';

/**
 * Calls the provider for each item, at most `concurrency` at a time (they are the slow part and
 * independent of each other), and returns the
 * results in item order. The calls get the transaction as `tx`, through which their statements
 * run one at a time (a provider that keeps its ledger in the payment database writes it there; one
 * connection takes one statement at a time). After a failure no new call starts, and the first
 * failure is thrown only once every started call has finished: none may still be using the
 * transaction when it is rolled back.
 */
export async function callEach<Item, Result>(
  tx: Sql,
  items: readonly Item[],
  call: (item: Item, tx: Sql) => Promise<Result>,
  concurrency: number,
): Promise<Result[]> {
  const shared = oneAtATime(tx);
  const results: Result[] = [];
  let failure: { readonly error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await call(items[index]!, shared);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, () => worker()),
  );
  if (failure !== undefined) {
    throw failure.error instanceof Error ? failure.error : new Error(String(failure.error));
  }
  return results;
}

/** `tx` for concurrent callers: each statement starts once the one before it has finished. */
function oneAtATime(tx: Sql): Sql {
  let previous: Promise<unknown> = Promise.resolve();
  return {
    query: <Row = Record<string, unknown>>(
      text: string,
      values?: readonly unknown[],
    ): Promise<QueryResultRows<Row>> => {
      const result = previous.then(() => tx.query<Row>(text, values));
      previous = result.catch(() => undefined);
      return result;
    },
  };
}
