/**
 * Calls the provider for each item, at most `concurrency` at a time (they are the slow part and
 * independent of each other), and returns the results in item order. After a failure no new call
 * starts, and the first failure is thrown only once every started call has finished: the calls
 * share the caller's transaction, and none may still be using it when it is rolled back.
 */
export async function callEach<Item, Result>(
  items: readonly Item[],
  call: (item: Item) => Promise<Result>,
  concurrency: number,
): Promise<Result[]> {
  const results: Result[] = [];
  let failure: { readonly error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await call(items[index]!);
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
