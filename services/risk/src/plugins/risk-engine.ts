import type { Logger, Telemetry } from '@orderly/platform';
import { createPluginEngine } from './engine.js';

/** What a rule plugin is told about one order (the ABI's feature record, see docs/risk.md). */
export interface RiskFeatures {
  readonly orderId: string;
  readonly customerId: string;
  /** The order total. */
  readonly amountMinor: bigint;
  /** ISO 4217, 'EUR' until issue 17's currency lands. */
  readonly currency: string;
  readonly lines: readonly { sku: string; quantity: number; unitPriceMinor: bigint }[];
  /** Orders of this customer risk saw in the velocity window, excluding this one. */
  readonly customerOrderCount: number;
  /** Their total amount in the window. */
  readonly customerAmountMinor: bigint;
  readonly windowSeconds: number;
  /** -1 when unknown. */
  readonly accountAgeSeconds: number;
  /** Orders of this customer rejected by risk or declined by payment, as risk knows. */
  readonly previousDeclines: number;
}

/** Which plugin produced an outcome: every decision records it. */
export interface PluginRef {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
}

export type PluginFailure =
  'timeout' | 'trap' | 'memory' | 'invalid-output' | 'breaker-open' | 'no-plugin';

export type PluginOutcome =
  | {
      readonly kind: 'scored';
      readonly plugin: PluginRef;
      /** 0..1000 */
      readonly score: number;
      readonly reasons: readonly string[];
      /** The scoring call's time (the last attempt's, when retried). */
      readonly durationMs: number;
      /** Calls made for this order: 1, or more when a transient failure was retried. */
      readonly attempts?: number;
    }
  | {
      readonly kind: 'failed';
      readonly plugin?: PluginRef;
      readonly failure: PluginFailure;
      readonly detail: string;
      readonly durationMs: number;
      /** Calls made for this order (retries + 1 for a timeout that persisted); absent when none was made. */
      readonly attempts?: number;
    };

export interface Assessment {
  /** The outcome the decision uses. */
  readonly enforced: PluginOutcome;
  /** A candidate scored in shadow mode: logged and recorded, never enforced. */
  readonly shadow?: PluginOutcome;
}

export type RolloutMode = 'shadow' | 'enforce';

/** The share of orders a candidate version receives, read from flags by the risk service. */
export interface Rollout {
  /** 0..100; orders are picked by a stable hash of the order id. */
  readonly candidatePercent: number;
  readonly mode: RolloutMode;
}

export interface PluginLimits {
  /** Time one order may take before its worker is terminated (`services.risk.plugins.callTimeoutMs`). */
  readonly callTimeoutMs: number;
  /** Largest `memory` maximum a module may declare, in 64 KiB pages; default 256 (16 MiB). */
  readonly maxMemoryPages: number;
  /** Largest .wasm file accepted; default 1 MiB. */
  readonly maxModuleBytes: number;
  /** The worker's V8 heap limit (resourceLimits.maxOldGenerationSizeMb); default 32. */
  readonly workerHeapMb: number;
}

export interface BreakerSettings {
  /** Failed calls in a row that open the breaker; default 5. */
  readonly failureThreshold: number;
  /** How long it stays open before one trial call (half-open); default 10 000. */
  readonly openMs: number;
}

/** What plugins are configured with (the ABI's `configure` call). */
export interface PluginSettings {
  /** Customer ids the deny list names. */
  readonly denyList: readonly string[];
  /** Named integer thresholds a rule set reads (e.g. `amountHighMinor`); unknown names are ignored. */
  readonly thresholds: Readonly<Record<string, number | bigint>>;
}

export interface RiskEngineOptions {
  /** The folder plugins load from: config `services.risk.plugins.dir`. */
  readonly pluginsDir: string;
  /** The rule set served: versions are `<pluginsDir>/<pluginName>/<MAJOR.MINOR.PATCH>/`; default `basic-rules`. */
  readonly pluginName?: string;
  readonly limits: Partial<PluginLimits> & Pick<PluginLimits, 'callTimeoutMs'>;
  readonly settings: PluginSettings;
  /** Asked for every batch, so a flag change applies to the next one. */
  readonly rollout: () => Rollout;
  readonly breaker?: Partial<BreakerSettings>;
  /**
   * How many times an order whose call failed transiently (timeout, crashed worker) is called again
   * on a fresh worker before it is `failed` (`services.risk.plugins.retries`); default 0.
   */
  readonly retries?: number;
  /** How often the folder is re-read besides watching it; default 2 000 ms, 0 = only on `rescan()`. */
  readonly pollIntervalMs?: number;
  readonly log: Logger;
  readonly telemetry?: Telemetry;
  /** The clock the breaker uses (tests move it). */
  readonly now?: () => number;
}

export type PluginVersionState = 'active' | 'candidate' | 'refused' | 'retired';

export interface PluginVersionStatus {
  readonly plugin: PluginRef;
  readonly file: string;
  readonly state: PluginVersionState;
  /** Why a version was refused (the logged error). */
  readonly error?: string;
  readonly loadedAt: string;
  /** Workers started for a serving version: 1, plus one for each worker a fault replaced. */
  readonly workerStarts?: number;
}

export interface RiskEngineStatus {
  readonly pluginsDir: string;
  readonly active?: PluginRef;
  readonly candidate?: PluginRef;
  /** The active version's breaker. */
  readonly breaker: 'closed' | 'open' | 'half-open';
  readonly candidateBreaker?: 'closed' | 'open' | 'half-open';
  readonly rollout: Rollout;
  readonly versions: readonly PluginVersionStatus[];
}

export interface RiskEngine {
  /** Scores a batch (one worker round trip per batch where possible). Never throws for plugin faults. */
  assess(batch: readonly RiskFeatures[], signal?: AbortSignal): Promise<Assessment[]>;
  /** Loaded plugins: active and candidate versions, hashes, state, breaker state. */
  status(): RiskEngineStatus;
  /** Re-reads the plugin folder now (the watcher and the poll call it too). */
  rescan(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Loads, validates and serves the rule plugins of `options.pluginsDir` (docs/risk.md): each version
 * is checked (size, imports, ABI, memory maximum, golden cases) before it serves, runs in its own
 * worker thread, and is replaced live when the folder changes.
 */
export function createRiskEngine(options: RiskEngineOptions): Promise<RiskEngine> {
  return createPluginEngine(options);
}
