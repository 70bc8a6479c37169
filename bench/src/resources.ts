import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Histogram } from './histogram.js';
import {
  allProcesses,
  cmdlineOf,
  cpuSecondsOf,
  descendantsOf,
  machineCpu,
  memoryOf,
  pssBytesOf,
  type ProcCpu,
} from './proc.js';
import type { ProbeSnapshot } from './probe.js';

/**
 * Where the CPU and memory went during a measured window: the processes the bench started (services,
 * ceilings, baseline, load generator), PostgreSQL backends of this run's databases, NATS, and
 * everything else on the machine, so a noisy run is visible in its own report.
 */
export interface ProcessFigures {
  readonly label: string;
  readonly pid: number;
  readonly cpuSeconds: number;
  /** CPU time / wall time: 100 = one core busy. */
  readonly cpuPercentOfCore: number;
  readonly peakRssMB: number | null;
  readonly maxSampledRssMB: number | null;
  readonly gc: {
    count: number;
    totalMs: number;
    maxMs: number;
    byKind: Record<string, { count: number; totalMs: number }>;
  } | null;
  readonly eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
  /** A process tree (e.g. an embedded PostgreSQL): how many processes, memory as their PSS sum. */
  readonly tree?: { readonly processes: number; readonly maxSampledPssMB: number | null };
}

export interface OtherFigures {
  readonly name: string;
  readonly cpuSeconds: number;
  readonly cpuPercentOfCore: number;
}

export interface PhaseResources {
  readonly wallSeconds: number;
  readonly cores: number;
  /** busy share of the whole machine, 100 = every core busy */
  readonly machineBusyPercent: number;
  readonly processes: ProcessFigures[];
  readonly groups: Record<
    | 'bench processes'
    | 'postgres (this run)'
    | 'postgres (shared)'
    | 'postgres (other)'
    | 'nats-server'
    | 'other',
    number
  >;
  /** The busiest other processes (not started by this bench, not this run's PostgreSQL backends). */
  readonly topOthers: OtherFigures[];
  /** "postgres (this run)" split by database: CPU seconds of the backends connected to each. Older reports lack it. */
  readonly postgresByDatabase?: Record<string, number>;
}

interface Snapshot {
  readonly at: number;
  readonly tracked: Map<string, { pid: number; cpu: number | undefined }>;
  /** Per tracked tree: CPU seconds of each process below its root. */
  readonly trees: Map<string, { pid: number; cpu: Map<number, number> }>;
  readonly all: Map<number, ProcCpu>;
  readonly machine: { busySeconds: number; totalSeconds: number };
  readonly probes: Map<string, ProbeSnapshot>;
}

/** A PostgreSQL client backend's title names its client address: `… 127.0.0.1(53122) idle`. */
const clientBackend = /\(\d+\)|\[local\]/;

export class ResourceTracker {
  private readonly tracked = new Map<string, number>();
  private readonly trees = new Map<string, number>();
  private readonly maxRss = new Map<string, number>();
  private readonly maxPss = new Map<string, number>();
  private readonly sampler: NodeJS.Timeout;
  private databaseNames: string[] = [];
  private natsPids: ReadonlySet<number> | undefined;

  constructor(
    private readonly probeDir: string,
    sampleEveryMs: number,
    private readonly cores: number,
  ) {
    this.sampler = setInterval(() => this.sampleRss(), sampleEveryMs);
    this.sampler.unref();
  }

  track(label: string, pid: number | undefined): void {
    if (pid) this.tracked.set(label, pid);
  }

  /** The processes below `pid` (not `pid` itself), counted together under `label`. */
  trackDescendants(label: string, pid: number | undefined): void {
    if (pid) this.trees.set(label, pid);
  }

  untrack(label: string): void {
    this.tracked.delete(label);
    this.trees.delete(label);
  }

  /** PostgreSQL backends whose process title names one of these databases count as this run's. */
  setDatabases(names: readonly string[]): void {
    this.databaseNames = [...names];
  }

  /**
   * Only these nats-server processes count as the system's NATS (the bench's own server); any other
   * (the machine's shared one, serving other work) counts as "other". By default every nats-server does.
   */
  setNatsPids(pids: readonly number[]): void {
    this.natsPids = new Set(pids);
  }

  stop(): void {
    clearInterval(this.sampler);
  }

  private sampleRss(): void {
    for (const [label, pid] of this.tracked) {
      const memory = memoryOf(pid);
      if (memory) this.maxRss.set(label, Math.max(this.maxRss.get(label) ?? 0, memory.rssBytes));
    }
    if (this.trees.size === 0) return;
    const all = allProcesses();
    for (const [label, root] of this.trees) {
      const pss = descendantsOf(root, all).reduce((a, pid) => a + (pssBytesOf(pid) ?? 0), 0);
      this.maxPss.set(label, Math.max(this.maxPss.get(label) ?? 0, pss));
    }
  }

  private readProbes(): Map<string, ProbeSnapshot> {
    const probes = new Map<string, ProbeSnapshot>();
    let files: string[] = [];
    try {
      files = readdirSync(this.probeDir).filter((f) => f.endsWith('.json'));
    } catch {
      return probes;
    }
    const pids = new Set(this.tracked.values());
    for (const file of files) {
      try {
        const snapshot = JSON.parse(
          readFileSync(join(this.probeDir, file), 'utf8'),
        ) as ProbeSnapshot;
        if (pids.has(snapshot.pid)) probes.set(`${snapshot.label}:${snapshot.pid}`, snapshot);
      } catch {
        // being rewritten
      }
    }
    return probes;
  }

  /** `startsWindow`: the sampled RSS maximum starts afresh from here. */
  snapshot(startsWindow = false): Snapshot {
    if (startsWindow) {
      this.maxRss.clear();
      this.maxPss.clear();
    }
    this.sampleRss();
    const tracked = new Map<string, { pid: number; cpu: number | undefined }>();
    for (const [label, pid] of this.tracked) tracked.set(label, { pid, cpu: cpuSecondsOf(pid) });
    const all = allProcesses();
    const trees = new Map<string, { pid: number; cpu: Map<number, number> }>();
    for (const [label, root] of this.trees) {
      const cpu = new Map<number, number>();
      for (const pid of descendantsOf(root, all)) cpu.set(pid, all.get(pid)?.cpuSeconds ?? 0);
      trees.set(label, { pid: root, cpu });
    }
    return {
      at: Date.now(),
      tracked,
      trees,
      all,
      machine: machineCpu(),
      probes: this.readProbes(),
    };
  }

  figures(start: Snapshot, end: Snapshot): PhaseResources {
    this.sampleRss();
    const wall = Math.max(0.001, (end.at - start.at) / 1000);
    const pct = (cpu: number) => Math.round((cpu / wall) * 1000) / 10;
    const processes: ProcessFigures[] = [];
    const ourPids = new Set<number>();
    for (const [label, e] of end.tracked) {
      ourPids.add(e.pid);
      const s = start.tracked.get(label);
      const cpu =
        e.cpu !== undefined && s?.cpu !== undefined && s.pid === e.pid
          ? e.cpu - s.cpu
          : (e.cpu ?? 0);
      const memory = memoryOf(e.pid);
      const probeEnd = end.probes.get(`${label}:${e.pid}`);
      const probeStart = start.probes.get(`${label}:${e.pid}`);
      let gc: ProcessFigures['gc'] = null;
      let eventLoopDelayMs: ProcessFigures['eventLoopDelayMs'] = null;
      if (probeEnd) {
        const byKind: Record<string, { count: number; totalMs: number }> = {};
        for (const [kind, v] of Object.entries(probeEnd.gc.byKind)) {
          const before = probeStart?.gc.byKind[kind];
          byKind[kind] = {
            count: v.count - (before?.count ?? 0),
            totalMs: round(v.totalMs - (before?.totalMs ?? 0)),
          };
        }
        gc = {
          count: probeEnd.gc.count - (probeStart?.gc.count ?? 0),
          totalMs: round(probeEnd.gc.totalMs - (probeStart?.gc.totalMs ?? 0)),
          // the largest pause since the process started (pauses are not kept one by one)
          maxMs: round(probeEnd.gc.maxMs),
          byKind,
        };
        const eld = probeStart
          ? Histogram.difference(Histogram.from(probeEnd.eld), Histogram.from(probeStart.eld))
          : Histogram.from(probeEnd.eld);
        if (eld.total > 0) {
          eventLoopDelayMs = {
            p50: round(eld.quantile(0.5) / 1000),
            p99: round(eld.quantile(0.99) / 1000),
            max: round(eld.max / 1000),
          };
        }
      }
      processes.push({
        label,
        pid: e.pid,
        cpuSeconds: round(cpu),
        cpuPercentOfCore: pct(cpu),
        peakRssMB: memory ? round(memory.peakRssBytes / 2 ** 20) : null,
        maxSampledRssMB: this.maxRss.has(label)
          ? round((this.maxRss.get(label) ?? 0) / 2 ** 20)
          : null,
        gc,
        eventLoopDelayMs,
      });
    }
    for (const [label, e] of end.trees) {
      const s = start.trees.get(label);
      let cpu = 0;
      for (const [pid, seconds] of e.cpu) {
        ourPids.add(pid);
        cpu += seconds - (s?.pid === e.pid ? (s.cpu.get(pid) ?? 0) : 0);
      }
      const pss = this.maxPss.get(label);
      processes.push({
        label,
        pid: e.pid,
        cpuSeconds: round(cpu),
        cpuPercentOfCore: pct(cpu),
        peakRssMB: null,
        maxSampledRssMB: null,
        gc: null,
        eventLoopDelayMs: null,
        tree: {
          processes: e.cpu.size,
          maxSampledPssMB: pss === undefined ? null : round(pss / 2 ** 20),
        },
      });
    }
    const groups = {
      'bench processes': 0,
      'postgres (this run)': 0,
      'postgres (shared)': 0,
      'postgres (other)': 0,
      'nats-server': 0,
      other: 0,
    };
    const others = new Map<string, number>();
    const byDatabase: Record<string, number> = {};
    for (const [pid, e] of end.all) {
      const s = start.all.get(pid);
      const cpu = e.cpuSeconds - (s?.cpuSeconds ?? 0);
      if (cpu <= 0) continue;
      if (ourPids.has(pid) || pid === process.pid) {
        groups['bench processes'] += cpu;
        continue;
      }
      if (e.comm === 'postgres') {
        const cmd = cmdlineOf(pid);
        const words = new Set(cmd.split(/\s+/));
        const database = this.databaseNames.find((db) => words.has(db));
        if (database) {
          groups['postgres (this run)'] += cpu;
          byDatabase[database] = (byDatabase[database] ?? 0) + cpu;
          continue;
        }
        if (!clientBackend.test(cmd)) {
          // the postmaster and its background processes (WAL writer, checkpointer, background
          // writer, autovacuum launcher): they serve every database on the server, this run's too
          groups['postgres (shared)'] += cpu;
          const name = `postgres: ${/postgres: \S+: (.+)$/.exec(cmd)?.[1] ?? 'postmaster'}`;
          others.set(name, (others.get(name) ?? 0) + cpu);
          continue;
        }
        groups['postgres (other)'] += cpu;
        const name = `postgres: ${/postgres: \S+: (.+?)(?: \d|$)/.exec(cmd)?.[1]?.split(' ').slice(0, 2).join(' ') ?? 'backend'}`;
        others.set(name, (others.get(name) ?? 0) + cpu);
        continue;
      }
      if (e.comm === 'nats-server' && (this.natsPids?.has(pid) ?? true)) {
        groups['nats-server'] += cpu;
        continue;
      }
      groups.other += cpu;
      const name = `${e.comm}: ${cmdlineOf(pid).slice(0, 80)}`;
      others.set(name, (others.get(name) ?? 0) + cpu);
    }
    const busy = end.machine.busySeconds - start.machine.busySeconds;
    const total = end.machine.totalSeconds - start.machine.totalSeconds;
    return {
      wallSeconds: round(wall),
      cores: this.cores,
      machineBusyPercent: total > 0 ? Math.round((busy / total) * 1000) / 10 : 0,
      processes,
      groups: Object.fromEntries(
        Object.entries(groups).map(([k, v]) => [k, round(v)]),
      ) as PhaseResources['groups'],
      topOthers: [...others]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, cpu]) => ({ name, cpuSeconds: round(cpu), cpuPercentOfCore: pct(cpu) })),
      postgresByDatabase: Object.fromEntries(
        Object.entries(byDatabase).map(([db, cpu]) => [db, round(cpu)]),
      ),
    };
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
