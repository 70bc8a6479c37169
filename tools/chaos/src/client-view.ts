import type { FaultRecord } from './faults.js';
import type { Sql } from './invariants.js';
import type { LoadGenerator } from './load.js';

/**
 * What the drill's clients saw during each fault, next to what they saw when nothing was injected:
 * for the requests started in a fault's window (its start until 5 s after it healed), how many were
 * accepted, how many attempts failed and with what, how many were retries, the request latency (first
 * attempt to definite answer, retries included), and how long their orders took to finish (placement
 * to CONFIRMED/CANCELLED, from the order service's own rows).
 */
export interface WindowStats {
  readonly fromSeconds: number;
  readonly toSeconds: number;
  readonly requests: number;
  readonly accepted: number;
  readonly inDoubt: number;
  /** Attempts that ended in this window without a definite answer, by status. */
  readonly failedAttempts: Record<string, number>;
  readonly retries: number;
  readonly latencyMs: Percentiles | undefined;
  /** Placement to terminal state of the accepted orders started in the window. */
  readonly sagaMs: Percentiles | undefined;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ClientView {
  /** Requests started outside every fault window. */
  readonly baseline: WindowStats;
  readonly byFault: (WindowStats & { readonly index: number })[];
}

/** After a fault heals its effects linger briefly (reconnects, retries in backoff): counted in its window. */
const tailMs = 5000;

export function percentiles(values: readonly number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export async function clientView(
  load: LoadGenerator,
  faults: readonly FaultRecord[],
  t0: number,
  sql: Sql,
): Promise<ClientView> {
  const rows = await sql<{ id: string; ms: string | null }>(
    'order',
    `SELECT id::text, CASE WHEN status IN ('CONFIRMED', 'CANCELLED')
       THEN (extract(epoch FROM updated_at - placed_at) * 1000)::bigint::text END AS ms FROM orders`,
  );
  const sagaMs = new Map(rows.map((r) => [r.id, r.ms === null ? undefined : Number(r.ms)]));
  const windows = faults.map((f) => {
    const from = t0 + f.atSeconds * 1000;
    return { index: f.index, from, to: from + f.durationMs + tailMs };
  });
  const stats = (inWindow: (at: number) => boolean, from: number, to: number): WindowStats => {
    const requests = load.requests.filter((r) => inWindow(r.startedAt));
    const failed: Record<string, number> = {};
    for (const a of load.failedAttempts)
      if (inWindow(a.at)) failed[a.status] = (failed[a.status] ?? 0) + 1;
    const saga = requests.flatMap((r) => {
      const ms = r.orderId === undefined ? undefined : sagaMs.get(r.orderId);
      return ms === undefined ? [] : [ms];
    });
    return {
      fromSeconds: Math.round((from - t0) / 100) / 10,
      toSeconds: Math.round((to - t0) / 100) / 10,
      requests: requests.length,
      accepted: requests.filter((r) => r.outcome === 'accepted').length,
      inDoubt: requests.filter((r) => r.outcome === 'in-doubt').length,
      failedAttempts: failed,
      retries: requests.reduce((n, r) => n + r.attempts - 1, 0),
      latencyMs: percentiles(requests.map((r) => r.endedAt - r.startedAt)),
      sagaMs: percentiles(saga),
    };
  };
  const first = Math.min(t0, ...load.requests.map((r) => r.startedAt));
  const last = Math.max(t0, ...load.requests.map((r) => r.endedAt));
  return {
    baseline: stats((at) => !windows.some((w) => at >= w.from && at < w.to), first, last),
    byFault: windows.map((w) => ({
      index: w.index,
      ...stats((at) => at >= w.from && at < w.to, w.from, w.to),
    })),
  };
}
