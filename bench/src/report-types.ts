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

/** Every request of a window that was not accepted, by kind; none is ever dropped from a figure. */
export interface FailureCounts {
  readonly total: number;
  /** 503 answers: load shedding (ORDER_INTAKE_SATURATED, UPSTREAM_OVERLOADED) and unavailability */
  readonly shed: number;
  /** other non-accepted answers, by status */
  readonly otherStatuses: Record<string, number>;
  /** no answer at all: timed out, unanswered when the run ended, never sent by the generator */
  readonly noAnswer: number;
  /** connections that broke before an answer (reset, closed) */
  readonly connectionErrors: number;
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
  /** Every request of the window, failures included (at their elapsed time, at least the timeout when unanswered). */
  readonly latencyMs: LatencyMs;
  readonly acceptedLatencyMs: LatencyMs;
  /** Older reports lack it (their latencyMs left out requests without an answer). */
  readonly failures?: FailureCounts;
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
  /** placement → CONFIRMED or CANCELLED, every order placed in the window (still open: its age when counted). */
  readonly toTerminalMs?: LatencyMs;
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

/** A figure the run could not measure, and why (never a made-up number). */
export interface NotMeasured {
  readonly notMeasured: string;
}

/** What the completed sagas of the saturation window cost, measured over that window. */
export interface SagaCost {
  readonly completedSagas: number;
  readonly windowSeconds: number;
  /** CPU per completed saga by process (services, PostgreSQL, NATS); the load generator is not the system. */
  readonly cpu:
    | {
        readonly rows: { label: string; cpuSeconds: number; msPerSaga: number; note?: string }[];
        readonly sumMsPerSaga: number;
      }
    | NotMeasured;
  /** PostgreSQL's CPU split by the database its backends serve (absent in older reports). */
  readonly postgresByService?: { service: string; cpuSeconds: number; msPerSaga: number }[];
  /** pg_stat_statements calls in this run's databases. */
  readonly statements:
    | {
        readonly total: number;
        readonly perSaga: number;
        readonly byDatabase: {
          database: string;
          service: string;
          calls: number;
          perSaga: number;
        }[];
      }
    | NotMeasured;
  /**
   * Transactions committed in this run's databases (pg_stat_database.xact_commit): how many events a
   * consumer batch, a group commit or a relay mark carries shows as commits per saga. Older reports lack it.
   */
  readonly commits?:
    | {
        readonly total: number;
        readonly perSaga: number;
        readonly byDatabase: {
          database: string;
          service: string;
          commits: number;
          perSaga: number;
        }[];
      }
    | NotMeasured;
  /** JetStream's counters of this run's stream and its consumers. */
  readonly bus:
    | {
        readonly stream: string;
        readonly published: number;
        readonly delivered: number;
        readonly acked: number;
        readonly publishesPerSaga: number;
        readonly deliveriesPerSaga: number;
      }
    | NotMeasured;
}

export function isNotMeasured(v: unknown): v is NotMeasured {
  return typeof v === 'object' && v !== null && 'notMeasured' in v;
}

export interface HalfSaturation {
  readonly rate: number;
  /** Where the rate comes from ("half of 160 completed sagas/s at saturation"). */
  readonly basis: string;
  readonly http: HttpFigures;
  readonly sagas?: SagaFigures;
  readonly drain?: DrainFigures;
}

export interface EmbeddedFigures {
  readonly bundle: string;
  readonly samplingRatio: string;
  readonly idle?: { resources: PhaseResources; percentOfCore: number };
  readonly intake?: HttpFigures;
  readonly sustainedSagasPerSecond?: number;
  readonly windowSeconds?: number;
  readonly sagas?: SagaFigures;
  readonly drain?: DrainFigures;
  /** VmHWM of the one Node process (services, bus, launcher). */
  readonly peakRssMB?: number | null;
  /** Largest sampled sum of its PostgreSQL processes' PSS. */
  readonly postgresPssMB?: number | null;
  readonly cpuMsPerSaga?: { node: number; postgres: number; sum: number };
  readonly error?: string;
}

export interface TelemetryRow {
  readonly samplingRatio: number;
  readonly rate: number;
  readonly http?: HttpFigures;
  readonly completedSagas?: number;
  readonly windowSeconds?: number;
  /** Services' CPU, and services + PostgreSQL + NATS, per completed saga (ms). */
  readonly servicesMsPerSaga?: number;
  readonly systemMsPerSaga?: number;
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
    /** `git status --porcelain` at the start: what the dirty tree held. */
    readonly dirtyFiles?: string[];
    readonly profile: string;
    readonly args: string[];
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGB: number;
    readonly loadAverageAtStart: number[];
    readonly loadAverageAtEnd?: number[];
    /** telemetry.samplingRatio of the headline distributed system, and where it comes from. */
    readonly samplingRatio?: string;
    readonly postgres: Record<string, string>;
    readonly target: string;
    readonly auth: string;
    readonly workers: string;
    /** Processes per service of the distributed system (--replicas); absent in reports before it existed. */
    readonly replicas?: number | null;
    /** The NATS server the system used (--own-nats: the run's own); absent in older reports. */
    readonly nats?: string;
    /** bundles (as production), source (tsx) or target (a running system). */
    readonly runFrom?: string;
    readonly nodeFlags: string;
    readonly logLevel: string;
    readonly services: string[];
  };
  readonly ceilings: { nodeHttp?: HttpFigures; fastify?: HttpFigures };
  readonly baseline?: HttpFigures;
  readonly idle?: {
    resources: PhaseResources;
    servicesCpuPercentOfCore: number;
    /** services + this run's PostgreSQL backends + PostgreSQL's shared background + NATS */
    wholeSystem?: { percentOfCore: number; parts: Record<string, number> };
  };
  readonly e2eFixed?: {
    rate: number;
    http: HttpFigures;
    sagas: SagaFigures;
    drain: DrainFigures;
    /** What the sagas completed in the window cost (absent in older reports). */
    cost?: SagaCost;
  };
  readonly latency: { http: HttpFigures; sagas?: SagaFigures; drain?: DrainFigures }[];
  readonly intake?: HttpFigures;
  readonly saturation?: {
    readonly sustainedSagasPerSecond: number;
    readonly windowSeconds: number;
    readonly completionsPerSecond: number[];
    readonly drain: DrainFigures;
    readonly drainSagasPerSecond: number | null;
    readonly sagas: SagaFigures;
    /** null: not measured (--target). */
    readonly servicesPeakRssMB: number | null;
    readonly cost?: SagaCost;
  };
  readonly half?: HalfSaturation;
  readonly telemetry?: { rows: TelemetryRow[]; note: string };
  readonly embedded?: EmbeddedFigures;
  readonly invariants?: InvariantReport;
  readonly matrix?: { rows: MatrixRow[]; notes: string[] };
  readonly profiles?: ProfileSummary[];
  readonly targets: TargetRow[];
  readonly notes: string[];
}
