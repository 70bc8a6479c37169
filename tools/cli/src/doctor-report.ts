import type { PlatformConfig, ServiceResources } from '@orderly/platform';

/**
 * What `orderly doctor` concludes from its samples (pure: no I/O, so it is tested on made-up samples).
 *
 * A count grows when its floor rose: the lowest value in the second half of the run minus the lowest
 * in the first half. Requests in flight come and go between samples and do not move a floor; a leak
 * moves every sample up, so it moves the floor. Heap is compared after a full GC at both ends of the
 * run; event-loop delay is a level (the median of the samples' p99), not a growth.
 */
export type Thresholds = PlatformConfig['doctor']['thresholds'];

/** One poll of one service: what `/admin/debug/resources` answered, or why it did not. */
export type Poll = { readonly resources: ServiceResources } | { readonly error: string };

/** One round: every service polled once, at `atMs` since the start. */
export interface Round {
  readonly atMs: number;
  readonly polls: Readonly<Record<string, Poll>>;
}

export interface DoctorInput {
  readonly services: readonly string[];
  readonly rounds: readonly Round[];
  /** Heap used after a full GC by process key, at the start and at the end of the run. */
  readonly heapAfterGc: {
    readonly start: Readonly<Record<string, number>>;
    readonly end: Readonly<Record<string, number>>;
  };
  readonly thresholds: Thresholds;
}

export type Verdict = 'ok' | 'GROWS' | 'HIGH' | 'FAILED';

export interface Check {
  /** `process 1234 on host (order, inventory)` or a service name. */
  readonly where: string;
  readonly check: string;
  readonly first: string;
  readonly last: string;
  readonly growth: string;
  readonly limit: string;
  readonly verdict: Verdict;
  /** Set when the verdict is not ok: one sentence naming what grows and by how much. */
  readonly problem?: string;
}

export interface DoctorReport {
  readonly healthy: boolean;
  readonly samples: number;
  readonly spanMs: number;
  readonly processes: readonly { readonly key: string; readonly services: readonly string[] }[];
  readonly checks: readonly Check[];
  readonly problems: readonly string[];
}

/** Identifies one process across polls (a pid alone repeats across containers and restarts). */
export function processKey(resources: ServiceResources): string {
  const { pid, hostname, startedAt } = resources.process;
  return `${hostname}/${pid}/${startedAt}`;
}

/** The floor growth of a series: min of the second half minus min of the first half. */
export function floorGrowth(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const half = Math.ceil(values.length / 2);
  const first = values.slice(0, half);
  const second = values.slice(values.length - half);
  return Math.min(...second) - Math.min(...first);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function analyze(input: DoctorInput): DoctorReport {
  const { rounds, thresholds } = input;
  const checks: Check[] = [];
  const spanMs = rounds.length > 0 ? rounds[rounds.length - 1]!.atMs - rounds[0]!.atMs : 0;
  const seconds = formatSeconds(spanMs);

  // Processes, in the order their first service is listed; a process's figures in a round are those
  // of its first service that answered.
  const processes = new Map<string, string[]>();
  for (const service of input.services)
    for (const round of rounds) {
      const poll = round.polls[service];
      if (!poll || !('resources' in poll)) continue;
      const key = processKey(poll.resources);
      const names = processes.get(key) ?? [];
      if (!names.includes(service)) names.push(service);
      processes.set(key, names);
    }
  const processRounds = (key: string): ServiceResources[] =>
    rounds.flatMap((round) => {
      for (const service of processes.get(key) ?? []) {
        const poll = round.polls[service];
        if (poll && 'resources' in poll && processKey(poll.resources) === key)
          return [poll.resources];
      }
      return [];
    });

  for (const [key, services] of processes) {
    const samples = processRounds(key);
    const head = samples[0]!;
    const where = `process ${head.process.pid} on ${head.process.hostname} (${services.join(', ')})`;
    const types = [...new Set(samples.flatMap((s) => Object.keys(s.resources.byType)))].sort();
    for (const type of types) {
      const values = samples.map((s) => s.resources.byType[type] ?? 0);
      checks.push(
        countCheck(
          where,
          `handles ${type}`,
          values,
          thresholds.handleGrowth,
          (growth) =>
            `${where}: handles of type ${type} grew by ${growth} in ${seconds} (limit +${thresholds.handleGrowth})`,
        ),
      );
    }
    const listeners = samples.map((s) => s.listeners.total);
    checks.push(
      countCheck(
        where,
        'listeners on process',
        listeners,
        thresholds.listenerGrowth,
        (growth) =>
          `${where}: listeners on process grew by ${growth} in ${seconds} (limit +${thresholds.listenerGrowth})`,
      ),
    );
    const start = input.heapAfterGc.start[key];
    const end = input.heapAfterGc.end[key];
    if (start !== undefined && end !== undefined) {
      const growth = end - start;
      const grows = growth > thresholds.heapGrowthBytes;
      checks.push({
        where,
        check: 'heap after full GC',
        first: formatBytes(start),
        last: formatBytes(end),
        growth: signed(growth, formatBytes),
        limit: `+${formatBytes(thresholds.heapGrowthBytes)}`,
        verdict: grows ? 'GROWS' : 'ok',
        ...(grows
          ? {
              problem: `${where}: heap after a full GC grew by ${formatBytes(growth)} in ${seconds} (limit +${formatBytes(thresholds.heapGrowthBytes)})`,
            }
          : {}),
      });
    } else {
      // No forced GC (debug.allowForcedGc off): the floor of heap used is the trend to watch.
      const used = samples.map((s) => s.heap.usedBytes);
      const growth = floorGrowth(used);
      const grows = growth > thresholds.heapGrowthBytes;
      checks.push({
        where,
        check: 'heap used (floor, no GC)',
        first: formatBytes(used[0] ?? 0),
        last: formatBytes(used[used.length - 1] ?? 0),
        growth: signed(growth, formatBytes),
        limit: `+${formatBytes(thresholds.heapGrowthBytes)}`,
        verdict: grows ? 'GROWS' : 'ok',
        ...(grows
          ? {
              problem: `${where}: the floor of heap used grew by ${formatBytes(growth)} in ${seconds} (limit +${formatBytes(thresholds.heapGrowthBytes)})`,
            }
          : {}),
      });
    }
    // The first sample's window began before the run.
    const delays = samples
      .slice(1)
      .flatMap((s) => (s.eventLoop.delay ? [s.eventLoop.delay.p99Ms] : []));
    if (delays.length > 0) {
      const level = median(delays);
      const high = level > thresholds.eventLoopDelayP99Ms;
      checks.push({
        where,
        check: 'event-loop delay p99 (median)',
        first: formatMs(delays[0]!),
        last: formatMs(delays[delays.length - 1]!),
        growth: formatMs(level),
        limit: formatMs(thresholds.eventLoopDelayP99Ms),
        verdict: high ? 'HIGH' : 'ok',
        ...(high
          ? {
              problem: `${where}: event-loop delay p99 is ${formatMs(level)} (median of ${delays.length} samples; limit ${formatMs(thresholds.eventLoopDelayP99Ms)})`,
            }
          : {}),
      });
    }
  }

  for (const service of input.services) {
    const polls = rounds.map((round) => round.polls[service]);
    const answered = polls.flatMap((p) => (p && 'resources' in p ? [p.resources] : []));
    const failed = polls.flatMap((p) => (p && 'error' in p ? [p.error] : []));
    if (failed.length > 0) {
      checks.push({
        where: service,
        check: 'answers /admin/debug/resources',
        first: '',
        last: '',
        growth: `${failed.length} of ${polls.length} failed`,
        limit: '0 failed',
        verdict: 'FAILED',
        problem: `${service}: ${failed.length} of ${polls.length} polls failed (${failed[failed.length - 1]})`,
      });
    }
    if (answered.length === 0) continue;
    const outbox = answered.map((r) => r.outbox);
    if (outbox.every((o) => o !== null && 'unpublished' in o)) {
      const values = outbox.map((o) => (o as { unpublished: number }).unpublished);
      checks.push(
        countCheck(
          service,
          'outbox backlog',
          values,
          thresholds.outboxBacklogGrowth,
          (growth) =>
            `${service}: the outbox backlog grew by ${growth} in ${seconds} (limit +${thresholds.outboxBacklogGrowth})`,
        ),
      );
    }
    const figures = answered.flatMap((r) =>
      r.bus !== null && 'consumers' in r.bus ? [r.bus] : [],
    );
    if (figures.length === answered.length) {
      const subscriptions = [
        ...new Set(figures.flatMap((b) => b.consumers.map((c) => c.subscription))),
      ];
      if (subscriptions.length > 0) {
        const lagOf = (b: (typeof figures)[number], name: string) => {
          const consumer = b.consumers.find((c) => c.subscription === name);
          return consumer ? consumer.pending + consumer.inFlight : 0;
        };
        const growing = subscriptions
          .map((name) => ({ name, growth: floorGrowth(figures.map((b) => lagOf(b, name))) }))
          .filter((s) => s.growth > thresholds.consumerLagGrowth);
        const totals = figures.map((b) => subscriptions.reduce((sum, n) => sum + lagOf(b, n), 0));
        checks.push({
          where: service,
          check: `consumer lag (${count(subscriptions.length, 'subscription')})`,
          first: String(totals[0]),
          last: String(totals[totals.length - 1]),
          growth: signed(floorGrowth(totals), String),
          limit: `+${thresholds.consumerLagGrowth} each`,
          verdict: growing.length > 0 ? 'GROWS' : 'ok',
          ...(growing.length > 0
            ? {
                problem: `${service}: consumer lag grew in ${seconds}: ${growing.map((s) => `${s.name} +${s.growth}`).join(', ')} (limit +${thresholds.consumerLagGrowth})`,
              }
            : {}),
        });
      }
      const dead = figures.map((b) => b.deadLetters);
      // New dead letters: any rise counts, even one that a redrive took back later.
      const added = dead.reduce(
        (sum, n, i) => sum + Math.max(0, n - (i > 0 ? dead[i - 1]! : n)),
        0,
      );
      const grows = added > thresholds.deadLetterGrowth;
      checks.push({
        where: service,
        check: 'dead letters',
        first: String(dead[0]),
        last: String(dead[dead.length - 1]),
        growth: `+${added}`,
        limit: `+${thresholds.deadLetterGrowth}`,
        verdict: grows ? 'GROWS' : 'ok',
        ...(grows
          ? {
              problem: `${service}: ${count(added, 'dead letter')} added in ${seconds} (limit +${thresholds.deadLetterGrowth})`,
            }
          : {}),
      });
    }
    for (const [part, figure] of [
      ['database', answered[answered.length - 1]!.database],
      ['outbox', answered[answered.length - 1]!.outbox],
      ['bus', answered[answered.length - 1]!.bus],
    ] as const) {
      if (figure !== null && 'error' in figure)
        checks.push({
          where: service,
          check: `${part} figures`,
          first: '',
          last: '',
          growth: 'unreadable',
          limit: '',
          verdict: 'FAILED',
          problem: `${service}: its ${part} figures could not be read (${figure.error})`,
        });
    }
  }

  const problems = checks.flatMap((c) => (c.problem ? [c.problem] : []));
  return {
    healthy: problems.length === 0,
    samples: rounds.length,
    spanMs,
    processes: [...processes].map(([key, services]) => ({ key, services })),
    checks,
    problems,
  };
}

function countCheck(
  where: string,
  check: string,
  values: readonly number[],
  limit: number,
  problem: (growth: string) => string,
): Check {
  const growth = floorGrowth(values);
  const grows = growth > limit;
  return {
    where,
    check,
    first: String(values[0] ?? 0),
    last: String(values[values.length - 1] ?? 0),
    growth: signed(growth, String),
    limit: `+${limit}`,
    verdict: grows ? 'GROWS' : 'ok',
    ...(grows ? { problem: problem(signed(growth, String)) } : {}),
  };
}

/** The report as the terminal shows it: one table per process or service, then the verdict. */
export function renderReport(
  report: DoctorReport,
  header: string,
  options: { readonly final: boolean } = { final: true },
): string {
  const lines = [header, ''];
  const groups = new Map<string, Check[]>();
  for (const check of report.checks) {
    const group = groups.get(check.where) ?? [];
    group.push(check);
    groups.set(check.where, group);
  }
  const columns = ['check', 'first', 'last', 'growth', 'limit', 'verdict'] as const;
  const rows = report.checks.map((c) => [c.check, c.first, c.last, c.growth, c.limit, c.verdict]);
  const widths = columns.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `  ${cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ')}`.trimEnd();
  for (const [where, checks] of groups) {
    lines.push(where);
    lines.push(line(columns));
    for (const c of checks)
      lines.push(line([c.check, c.first, c.last, c.growth, c.limit, c.verdict]));
    lines.push('');
  }
  lines.push(
    'growth: lowest value in the second half of the run minus lowest in the first half (heap: after a full GC, end minus start)',
  );
  if (!options.final) return `${lines.join('\n')}\n`;
  lines.push('');
  if (report.healthy) lines.push('healthy: nothing grew beyond its limit');
  else {
    lines.push(`UNHEALTHY: ${count(report.problems.length, 'problem')}`);
    for (const problem of report.problems) lines.push(`  - ${problem}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `1 service`, `6 services`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

function signed(value: number, format: (n: number) => string): string {
  return value >= 0 ? `+${format(value)}` : `-${format(-value)}`;
}

export function formatBytes(bytes: number): string {
  const mebibytes = bytes / 1024 / 1024;
  return `${mebibytes.toFixed(1)} MiB`;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
