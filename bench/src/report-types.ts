import type { ProfileSummary } from './cpu-profile.js';
import type { InvariantReport } from '@orderly/chaos/invariants';
import type { PhaseResources } from './resources.js';

/** The JSON report: everything the Markdown and the charts are made from. */
export interface LatencyMs {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

export interface HttpFigures {
  readonly name: string;
  readonly mode: 'closed' | 'open';
  readonly connections: number;
  readonly offeredRate: number | null;
  readonly windowSeconds: number;
  readonly sent: number;
  readonly statuses: Record<string, number>;
  readonly errors: Record<string, number>;
  /** Accepted (202, or 200 for a GET) answers per second within the window. */
  readonly acceptedPerSecond: number;
  readonly answeredPerSecond: number;
  readonly latencyMs: LatencyMs;
  readonly acceptedLatencyMs: LatencyMs;
  readonly maxQueuedInGenerator: number;
  readonly timeline: number[];
  /** Server CPU (the measured process or the services) per accepted request, µs. */
  readonly serverCpuUsPerRequest: number | null;
  readonly loadGenerator: {
    cpuSeconds: number;
    percentOfCore: number;
    percentOfMachineBusy: number;
  };
  readonly resources: PhaseResources;
  readonly sampleErrorBody?: string;
}

export interface SagaFigures {
  readonly placed: number;
  readonly confirmed: number;
  readonly completed: number;
  readonly cancelled: Record<string, number>;
  readonly open: number;
  readonly toConfirmedMs: LatencyMs;
  readonly toNotifiedMs: LatencyMs;
  readonly toConfirmedCdf: { ms: number; fraction: number }[];
}

export interface DrainFigures {
  readonly drained: boolean;
  readonly seconds: number;
  readonly left: { open: number; unnotified: number };
}

export interface MatrixRow {
  readonly variant: string;
  readonly nodeFlags: string;
  readonly workers: number | null;
  readonly intakePerSecond: number;
  readonly intakeP99Ms: number;
  readonly latencyRate: number;
  readonly p99AtRateMs: number;
  readonly p999AtRateMs: number;
  readonly gcMsPerSecond: Record<string, number>;
  readonly gcMaxPauseMs: Record<string, number>;
  readonly eventLoopDelayP99Ms: Record<string, number>;
  readonly peakRssMB: Record<string, number>;
  readonly error?: string;
}

export interface TargetRow {
  readonly target: string;
  readonly goal: string;
  readonly measured: string;
  readonly pass: boolean | null;
}

export interface BenchReport {
  readonly meta: {
    readonly startedAt: string;
    readonly durationSeconds: number;
    readonly commit: string;
    readonly dirty: boolean;
    readonly profile: string;
    readonly args: string[];
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGB: number;
    readonly loadAverageAtStart: number[];
    readonly postgres: Record<string, string>;
    readonly target: string;
    readonly auth: string;
    readonly workers: string;
    /** bundles (as production), source (tsx) or target (a running system). */
    readonly runFrom?: string;
    readonly nodeFlags: string;
    readonly logLevel: string;
    readonly services: string[];
  };
  readonly ceilings: { nodeHttp?: HttpFigures; fastify?: HttpFigures };
  readonly baseline?: HttpFigures;
  readonly idle?: { resources: PhaseResources; servicesCpuPercentOfCore: number };
  readonly e2eFixed?: { rate: number; http: HttpFigures; sagas: SagaFigures; drain: DrainFigures };
  readonly latency: { http: HttpFigures; sagas?: SagaFigures; drain?: DrainFigures }[];
  readonly intake?: HttpFigures;
  readonly saturation?: {
    readonly sustainedSagasPerSecond: number;
    readonly windowSeconds: number;
    readonly completionsPerSecond: number[];
    readonly drain: DrainFigures;
    readonly drainSagasPerSecond: number | null;
    readonly sagas: SagaFigures;
    readonly servicesPeakRssMB: number;
  };
  readonly invariants?: InvariantReport;
  readonly matrix?: { rows: MatrixRow[]; notes: string[] };
  readonly profiles?: ProfileSummary[];
  readonly targets: TargetRow[];
  readonly notes: string[];
}
