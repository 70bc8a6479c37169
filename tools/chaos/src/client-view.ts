import type { FaultRecord } from './faults.js';
import type { Sql } from './invariants.js';
import type { LoadGenerator, RequestRecord } from './load.js';

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

/** The requests of one client version in a phase: their final answers and latency. */
export interface VersionStats {
  readonly requests: number;
  readonly accepted: number;
  /** The final answer of each request by status and error code (`202`, `410 CONTRACT_VERSION_RETIRED`, `0` none). */
  readonly answers: Record<string, number>;
  /** Versions the answers said they were served in (X-Contract-Version). */
  readonly servedAs: Record<string, number>;
  readonly latencyMs: Percentiles | undefined;
}

/** A rollout phase: from one change (a `set-flag`, `set-config` or `clients` step) to the next. */
export interface PhaseStats extends WindowStats {
  /** The step that opened the phase (absent for the first one, before any change). */
  readonly index?: number;
  readonly byVersion: Record<string, VersionStats>;
}

export interface ClientView {
  /** Requests started outside every fault window. */
  readonly baseline: WindowStats;
  readonly byFault: (WindowStats & { readonly index: number })[];
  /** Rollout drills: what the clients saw between one change and the next. */
  readonly byPhase?: PhaseStats[];
}

/** The steps that change what clients get; each opens a phase of the client view. */
const changeSteps = new Set(['set-flag', 'set-config', 'clients']);

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
  const changes = faults
    .filter((f) => changeSteps.has(f.fault))
    .sort((a, b) => a.atSeconds - b.atSeconds || a.index - b.index);
  const byVersion = (inWindow: (at: number) => boolean): Record<string, VersionStats> => {
    const groups: Record<string, RequestRecord[]> = {};
    for (const r of load.requests)
      if (inWindow(r.startedAt)) (groups[r.version ?? 'none'] ??= []).push(r);
    const count = (values: readonly string[]) => {
      const counted: Record<string, number> = {};
      for (const v of values) counted[v] = (counted[v] ?? 0) + 1;
      return counted;
    };
    return Object.fromEntries(
      Object.entries(groups).map(([version, requests]) => [
        version,
        {
          requests: requests.length,
          accepted: requests.filter((r) => r.outcome === 'accepted').length,
          answers: count(requests.map((r) => `${r.status ?? 0}${r.code ? ` ${r.code}` : ''}`)),
          servedAs: count(requests.map((r) => r.servedVersion ?? 'not said')),
          latencyMs: percentiles(requests.map((r) => r.endedAt - r.startedAt)),
        },
      ]),
    );
  };
  const phases: PhaseStats[] = [];
  if (changes.length > 0) {
    const bounds = [first, ...changes.map((c) => t0 + c.atSeconds * 1000), last + 1];
    for (let p = 0; p + 1 < bounds.length; p++) {
      const from = bounds[p]!;
      const to = bounds[p + 1]!;
      const inPhase = (at: number) => at >= from && at < to;
      const opener = p === 0 ? undefined : changes[p - 1];
      phases.push({
        ...(opener ? { index: opener.index } : {}),
        ...stats(inPhase, from, to),
        byVersion: byVersion(inPhase),
      });
    }
  }
  return {
    baseline: stats((at) => !windows.some((w) => at >= w.from && at < w.to), first, last),
    byFault: windows.map((w) => ({
      index: w.index,
      ...stats((at) => at >= w.from && at < w.to, w.from, w.to),
    })),
    ...(phases.length > 0 ? { byPhase: phases } : {}),
  };
}
