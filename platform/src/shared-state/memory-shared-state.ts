import type { SharedChange, SharedState } from './shared-state.js';

/**
 * SharedState in this process's memory (embedded mode: one process serves everything). At most
 * `maxEntries` records are kept, least recently updated dropped first; a record older than
 * `entryTtlMs` is forgotten when it is next read.
 */
export function memorySharedState(options: {
  readonly maxEntries: number;
  readonly entryTtlMs: number;
  readonly now?: () => number;
}): SharedState {
  const now = options.now ?? Date.now;
  // In least-recently-updated order: re-inserted on every update.
  const records = new Map<string, { value: string; updatedAt: number }>();
  return {
    update<Result>(key: string, change: SharedChange<Result>): Promise<Result> {
      const at = now();
      const record = records.get(key);
      const current =
        record && at - record.updatedAt <= options.entryTtlMs ? record.value : undefined;
      const { value, result } = change(current);
      records.delete(key);
      records.set(key, { value, updatedAt: at });
      while (records.size > options.maxEntries) {
        const oldest = records.keys().next().value;
        if (oldest === undefined) break;
        records.delete(oldest);
      }
      return Promise.resolve(result);
    },
    close: () => Promise.resolve(),
  };
}
