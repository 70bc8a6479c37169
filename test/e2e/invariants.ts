import { expect } from 'vitest';
import { waitForInvariants, type Sql } from '@orderly/chaos/invariants';

/**
 * The end-to-end tests' view of the shared invariants (tools/chaos/src/invariants.ts, also used by
 * the benchmark and the chaos drills): wait until every one holds, or fail naming what broke.
 */
export type SqlRunner = Sql;

export async function checkInvariants(
  sql: SqlRunner,
  acceptedIds: readonly string[],
  stockAtStart: Readonly<Record<string, number>>,
  timeoutMs = 90_000,
): Promise<{ confirmed: number; cancelled: Record<string, number> }> {
  const { report } = await waitForInvariants(
    sql,
    { acceptedIds, stockAtStart, outboxServices: ['order', 'inventory', 'payment', 'notification'] },
    { timeoutMs, intervalMs: 250 },
  );
  expect(report.problems, 'invariants broken after the run').toEqual([]);
  return { confirmed: report.confirmed, cancelled: report.cancelled };
}
