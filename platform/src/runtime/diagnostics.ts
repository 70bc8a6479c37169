import type { Bus, BusDiagnostics } from '../bus/index.js';
import type { PlatformConfig } from '../config/index.js';
import type { Database, DatabaseConnections } from '../db/index.js';
import { readOutboxBacklog, type OutboxBacklog } from '../outbox/index.js';
import {
  activeResources,
  eventLoopDelay,
  forceFullGc,
  heapFigures,
  processIdentity,
  processListeners,
  UtilizationReader,
  type EventLoopDelay,
  type HeapFigures,
  type ProcessIdentity,
} from './process-diagnostics.js';

/**
 * `GET /admin/debug/resources` of one service: the figures of its process (handles, listeners, event
 * loop, heap) and its own (database pool, outbox backlog, bus connection, consumer lag, dead letters).
 * A part that cannot be read (the database is down) says why in `error` instead of failing the rest.
 */
export interface ServiceResources {
  readonly service: string;
  readonly collectedAt: string;
  readonly process: ProcessIdentity;
  /** `process.getActiveResourcesInfo()`: what keeps the process alive, by type. */
  readonly resources: { readonly total: number; readonly byType: Record<string, number> };
  readonly listeners: { readonly total: number; readonly byEvent: Record<string, number> };
  readonly eventLoop: {
    /** Share of the time since this service was last asked that the loop was busy, 0..1. */
    readonly utilization: number;
    /** Null on the first request (the monitor starts then). */
    readonly delay: EventLoopDelay | null;
  };
  /** With `afterFullGc`, read right after a full garbage collection this request asked for. */
  readonly heap: HeapFigures & { readonly afterFullGc: boolean };
  readonly database: DatabaseConnections | Failed | null;
  readonly outbox: OutboxBacklog | Failed | null;
  readonly bus: BusDiagnostics | Failed | null;
}

export interface Failed {
  readonly error: string;
}

/** What the collector reads from its service, at the time of each request. */
export interface DiagnosticsSources {
  readonly name: string;
  readonly database: Database | undefined;
  readonly bus: Bus | undefined;
  /** The subscriptions this service consumes (the bus may be shared with other services). */
  subscriptions(): readonly string[];
  /** The platform keys in effect now (`debug`, `telemetry.eventLoopDelayResolutionMs`). */
  platform(): PlatformConfig;
}

export class ServiceDiagnostics {
  private readonly utilization = new UtilizationReader();
  private readonly releaseDelayMonitor = eventLoopDelay.acquire();

  constructor(private readonly sources: DiagnosticsSources) {}

  /** `gc`: run a full garbage collection first, when `debug.allowForcedGc` allows it. */
  async collect(options: { readonly gc: boolean }): Promise<ServiceResources> {
    const { database, bus } = this.sources;
    const platform = this.sources.platform();
    // The service's own parts first: the process figures below should not include their requests.
    const [pool, outbox, busFigures] = await Promise.all([
      database ? attempt(() => Promise.resolve(database.connections())) : null,
      database ? attempt(() => readOutboxBacklog(database)) : null,
      bus ? attempt(() => bus.diagnostics(this.sources.subscriptions())) : null,
    ]);
    const delay = eventLoopDelay.read(
      platform.telemetry.eventLoopDelayResolutionMs,
      platform.debug.eventLoopDelayWindowMs,
    );
    const utilization = this.utilization.read();
    const afterFullGc = options.gc && platform.debug.allowForcedGc;
    if (afterFullGc) forceFullGc();
    const byType = activeResources();
    const byEvent = processListeners();
    return {
      service: this.sources.name,
      collectedAt: new Date().toISOString(),
      process: processIdentity(),
      resources: { total: sum(byType), byType },
      listeners: { total: sum(byEvent), byEvent },
      eventLoop: { utilization, delay: delay ?? null },
      heap: { ...heapFigures(), afterFullGc },
      database: pool,
      outbox,
      bus: busFigures,
    };
  }

  close(): void {
    this.releaseDelayMonitor();
  }
}

async function attempt<T>(read: () => Promise<T>): Promise<T | Failed> {
  try {
    return await read();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}
