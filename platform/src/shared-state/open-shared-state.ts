import type { PlatformConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { memorySharedState } from './memory-shared-state.js';
import { natsSharedState } from './nats-shared-state.js';
import type { SharedState } from './shared-state.js';

/** What a service asks of its shared state; where it lives follows the bus (see openSharedState). */
export interface SharedStateOptions {
  /** The service that opens it (the NATS client's name). */
  readonly service: string;
  /** The bucket on NATS; every replica that names the same bucket shares the records. */
  readonly bucket: string;
  readonly entryTtlMs: number;
  /** In memory: most records kept (least recently updated dropped first). */
  readonly maxEntries: number;
  /** On NATS: most bytes the bucket holds. */
  readonly maxBytes: number;
  readonly operationTimeoutMs: number;
  readonly maxAttempts: number;
  /** On NATS: the pause between two rounds of one busy key, and before a retry (natsSharedState). */
  readonly roundIntervalMs: number;
}

/**
 * The service's shared state where its replicas can share it: on NATS JetStream (bus.natsServers)
 * when the bus is NATS (distributed mode and Kubernetes, where a service runs as several replicas),
 * in memory when the bus is in memory (embedded mode: one process, so nothing to share). On NATS
 * it tries to connect once before it returns (within bus.connectTimeoutMs) and never fails: see
 * natsSharedState for how it behaves without NATS.
 */
export async function openSharedState(
  platform: PlatformConfig,
  options: SharedStateOptions,
  log: Logger,
): Promise<SharedState> {
  if (platform.bus.kind === 'memory')
    return memorySharedState({ maxEntries: options.maxEntries, entryTtlMs: options.entryTtlMs });
  return natsSharedState({
    servers: platform.bus.natsServers
      .split(',')
      .map((server) => server.trim())
      .filter((server) => server !== ''),
    connectTimeoutMs: platform.bus.connectTimeoutMs,
    name: `orderly-${options.service}-shared-state`,
    bucket: options.bucket,
    entryTtlMs: options.entryTtlMs,
    maxBytes: options.maxBytes,
    replicas: platform.bus.streamReplicas,
    operationTimeoutMs: options.operationTimeoutMs,
    maxAttempts: options.maxAttempts,
    roundIntervalMs: options.roundIntervalMs,
    reconnectIntervalMs: platform.startup.dependencyRetry.maxDelayMs,
    log,
  });
}
