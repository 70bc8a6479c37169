import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  serviceNames,
  servicesWithDatabase,
  type ServiceName,
  type ServiceWithDatabase,
} from '@orderly/system';

/**
 * One OS process per service (`node --import tsx services/<svc>/src/main.ts`: node itself, so a
 * kill -9 hits the service), supervised the way Kubernetes would: a process that exits without the
 * drill asking is started again after a pause, and counted.
 * The services are the system's (@orderly/system), in its start order.
 *
 * Processes are known by a key: the service's name (one process each), or any other key that
 * `serviceOf` maps to its service (replicas: `order#0`, `order#1`, see cluster/).
 */
export const services = serviceNames;
export type Service = ServiceName;
export { servicesWithDatabase, type ServiceWithDatabase };

export const repoRoot = new URL('../../../', import.meta.url).pathname;

export interface ServiceProcessOptions<Key extends string> {
  /** The service a key runs (default: the key is the service's name). */
  readonly serviceOf?: (key: Key) => Service;
  /** Arguments after main.ts (e.g. `--config config/cluster.yaml`). */
  readonly args?: readonly string[];
}

interface Managed {
  child: ChildProcess;
  /** Set when the drill itself stops the process, so its exit is not an unexpected crash. */
  expectedExit: boolean;
}

export class ServiceProcesses<Key extends string = Service> {
  private readonly managed = new Map<Key, Managed>();
  readonly output: string[] = [];
  /** Exits nobody asked for (a service giving up on a dependency, a crash), by service. */
  readonly unexpectedExits: {
    service: Key;
    code: number | null;
    signal: string | null;
    at: number;
  }[] = [];
  private stopped = false;
  private readonly logStream: WriteStream | undefined;

  constructor(
    private readonly envFor: (service: Key) => Record<string, string>,
    readonly ports: Record<Key, number>,
    private readonly restartDelayMs: number,
    /** Every line the services print, with the drill's clock, for the post-mortem. */
    logFile?: string,
    private readonly options: ServiceProcessOptions<Key> = {},
  ) {
    this.logStream = logFile ? createWriteStream(logFile) : undefined;
  }

  url(service: Key): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  /** Whether the key's process runs (started and not exited). */
  running(service: Key): boolean {
    const child = this.managed.get(service)?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  start(service: Key): void {
    const program = this.options.serviceOf?.(service) ?? (service as string);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, `services/${program}/src/main.ts`),
        ...(this.options.args ?? []),
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, ...this.envFor(service) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const entry: Managed = { child, expectedExit: false };
    this.managed.set(service, entry);
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.output.push(`[${service}] ${line}`);
        this.logStream?.write(`${new Date().toISOString()} [${service}] ${line}\n`);
      }
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (entry.expectedExit || this.stopped) return;
      this.unexpectedExits.push({ service, code, signal, at: Date.now() });
      setTimeout(() => {
        if (!this.stopped && this.managed.get(service) === entry) this.start(service);
      }, this.restartDelayMs);
    });
  }

  async waitReady(service: Key, timeoutMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      if (await this.isReady(service)) return Date.now() - started;
      if (Date.now() - started > timeoutMs)
        throw new Error(`${service} not ready after ${timeoutMs} ms\n${this.tail(40)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async isReady(service: Key): Promise<boolean> {
    try {
      const response = await fetch(`${this.url(service)}/readyz`, {
        signal: AbortSignal.timeout(2000),
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Sends `signal` and waits for the process to exit (SIGKILL: at once; SIGTERM: after its graceful stop). */
  async stop(service: Key, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
    const entry = this.managed.get(service);
    if (!entry) return null;
    entry.expectedExit = true;
    const { child } = entry;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill(signal);
    return exit;
  }

  /** Every process, gracefully; returns their exit codes. */
  async stopAll(): Promise<Record<string, number | null>> {
    this.stopped = true;
    const codes: Record<string, number | null> = {};
    await Promise.all(
      [...this.managed.keys()].map(async (s) => (codes[s] = await this.stop(s, 'SIGTERM'))),
    );
    return codes;
  }

  killAll(): void {
    this.stopped = true;
    this.logStream?.end();
    for (const { child } of this.managed.values())
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  tail(n: number): string {
    return this.output.slice(-n).join('\n');
  }
}
