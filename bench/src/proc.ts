import { readdirSync, readFileSync } from 'node:fs';

/**
 * Reads CPU time and memory of processes from /proc (Linux). CPU figures are in seconds, from
 * utime + stime of /proc/<pid>/stat; peak RSS is the kernel's VmHWM from /proc/<pid>/status.
 */
const ticksPerSecond = 100; // USER_HZ on Linux

export interface ProcCpu {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly cpuSeconds: number;
}

function readStat(pid: number): ProcCpu | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    const comm = text.slice(open + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    // fields[1] is the parent's pid (field 4)
    return { pid, ppid: Number(fields[1]), comm, cpuSeconds: (utime + stime) / ticksPerSecond };
  } catch {
    return undefined;
  }
}

export function cpuSecondsOf(pid: number): number | undefined {
  return readStat(pid)?.cpuSeconds;
}

export function memoryOf(pid: number): { rssBytes: number; peakRssBytes: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Proportional set size (shared pages divided among the processes that map them), from
 * /proc/<pid>/smaps_rollup: PostgreSQL's processes all map its shared buffers, so summing their RSS
 * would count those many times over.
 */
export function pssBytesOf(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const kb = /^Pss:\s+(\d+) kB/m.exec(text)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** The processes below `pid` (children, their children, …) in a snapshot of every process. */
export function descendantsOf(pid: number, all: ReadonlyMap<number, ProcCpu>): number[] {
  const children = new Map<number, number[]>();
  for (const p of all.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const found: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    found.push(next);
    stack.push(...(children.get(next) ?? []));
  }
  return found;
}

export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Whole-machine CPU: busy and total jiffies from the first line of /proc/stat, as seconds. */
export function machineCpu(): { busySeconds: number; totalSeconds: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  return { busySeconds: (total - idle) / ticksPerSecond, totalSeconds: total / ticksPerSecond };
}

/** CPU seconds of every process on the machine right now. */
export function allProcesses(): Map<number, ProcCpu> {
  const result = new Map<number, ProcCpu>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) result.set(stat.pid, stat);
  }
  return result;
}
