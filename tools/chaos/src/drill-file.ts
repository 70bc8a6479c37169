import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { services, servicesWithDatabase } from './service-processes.js';

/**
 * A drill is data (chaos/drills/*.yaml): the load, the fault schedule and the bound within which
 * the system must heal. A new drill needs no code. Times are in seconds from the start of the load.
 */
const service = z.enum(services);
const serviceOrAny = z.union([service, z.literal('any')]);
const dependency = z.enum(['postgres', 'nats']);
const seconds = z.number().nonnegative();
const natsNode = z.union([z.literal('stream-leader'), z.string().regex(/^n[1-9]$/)]);

/** A public API version a client sends in X-Contract-Version, or `none` for no header. */
const contractVersion = z.enum(['1', '2', 'none']);
export type ClientVersion = z.infer<typeof contractVersion>;
/** Weights of the client versions (need not add up to 100). */
const clientVersions = z
  .partialRecord(contractVersion, z.number().nonnegative())
  .refine((weights) => Object.values(weights).some((w) => w > 0), 'at least one weight above 0');

const repeat = z
  .object({ times: z.number().int().min(1), everySeconds: z.number().positive() })
  .strict();
const common = { at: seconds, repeat: repeat.optional(), note: z.string().optional() };

export const faultStep = z.discriminatedUnion('fault', [
  z
    .object({
      ...common,
      fault: z.literal('kill'),
      /** `any`: the next service in turn (identity, order, inventory, payment, notification, gateway). */
      service: serviceOrAny,
      downSeconds: seconds.default(0.5),
      /** Wait (up to 5 s) until the service's outbox has unpublished rows: kill it mid relay. */
      duringRelay: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('terminate'),
      service: serviceOrAny,
      downSeconds: seconds.default(0.5),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('nats-restart'),
      downSeconds: seconds.default(2),
      signal: z.enum(['SIGTERM', 'SIGKILL']).default('SIGTERM'),
    })
    .strict(),
  z
    .object({ ...common, fault: z.literal('postgres-restart'), downSeconds: seconds.default(2) })
    .strict(),
  z.object({ ...common, fault: z.literal('postgres-cut') }).strict(),
  z
    .object({
      ...common,
      fault: z.literal('slow'),
      service,
      latencyMs: z.number().int().nonnegative().default(0),
      errorRatePercent: z.number().min(0).max(100).default(0),
      seconds: seconds,
    })
    .strict(),
  /** The payment provider unreachable (flag `payment-provider-outage`): charges fail, refunds wait for it. */
  z.object({ ...common, fault: z.literal('provider-outage'), seconds: seconds }).strict(),
  z
    .object({
      ...common,
      fault: z.literal('dead-letter-and-redrive'),
      /** How long inventory's database refuses every reservation confirmation (those OrderConfirmed end in the dead letters). */
      seconds: seconds,
      /** From the step's start: when inventory's dead-lettered settlements are redriven (past reservationTtlMs and the retries). */
      redriveAfterSeconds: seconds,
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('partition'),
      service,
      dependency,
      /** refuse: connections reset and refused; blackhole: bytes stop flowing, connections hang. */
      mode: z.enum(['refuse', 'blackhole']).default('refuse'),
      seconds: seconds,
    })
    .strict(),
  z.object({ ...common, fault: z.literal('duplicate'), count: z.number().int().min(1) }).strict(),
  z.object({ ...common, fault: z.literal('reorder'), count: z.number().int().min(2) }).strict(),
  z
    .object({ ...common, fault: z.literal('poison'), count: z.number().int().min(1).default(1) })
    .strict(),
  // Cluster faults: the drill needs `topology` (chaos/drills/cluster.yaml).
  z
    .object({
      ...common,
      fault: z.literal('nats-node-kill'),
      /** `stream-leader`: the node leading the events stream when the step starts. */
      node: natsNode,
      downSeconds: seconds.default(10),
      signal: z.enum(['SIGTERM', 'SIGKILL']).default('SIGKILL'),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('nats-node-cut'),
      node: natsNode,
      /** blackhole: the routes hang (a partition); refuse: they are reset (a peer that is gone). */
      mode: z.enum(['refuse', 'blackhole']).default('blackhole'),
      seconds: seconds,
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('replica-kill'),
      /** `any`: the next service in turn. */
      service: serviceOrAny,
      replica: z.number().int().nonnegative().default(0),
      downSeconds: seconds.default(2),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('postgres-failover'),
      /** Afterwards, a new standby from the new primary (replication synchronous again). */
      rebuildStandby: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.literal('burst'),
      multiplier: z.number().min(1).default(10),
      seconds: seconds,
    })
    .strict(),
  // Rollout steps (chaos/drills/contract-rollout.yaml): changes an operator makes, not failures.
  // They stay in force (nothing is reverted) and are listed with the faults in the report.
  /** A flag's default variant in the drill's flags file; the services re-read it (~5 s). */
  z
    .object({
      ...common,
      fault: z.literal('set-flag'),
      flag: z.string().min(1),
      variant: z.string().min(1),
    })
    .strict(),
  /**
   * Keys of the drill's configuration file (ORDERLY_CONFIG of every service, `a.b.c` paths): the
   * services apply the reloadable ones live. `restart` then restarts those services one after the
   * other with SIGTERM, each ready before the next (a rolling restart, for keys read at start).
   */
  z
    .object({
      ...common,
      fault: z.literal('set-config'),
      set: z.record(z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_-]+)+$/), z.unknown()),
      restart: z.array(service).default([]),
    })
    .strict(),
  /** From now on the load's clients use these public API versions, by weight (`none`: no header). */
  z.object({ ...common, fault: z.literal('clients'), versions: clientVersions }).strict(),
  /**
   * Clients of one API version (`none`: no X-Contract-Version header) place `count` orders and must
   * get `status` (and `code`, the version served, the headers named) within `withinSeconds` —
   * retried until they do, the time it took reported. An expectation not met fails the drill.
   */
  z
    .object({
      ...common,
      fault: z.literal('expect-clients'),
      version: contractVersion,
      /** The body's version when the header is absent (what such a client sends). */
      bodyVersion: z.enum(['1', '2']).optional(),
      status: z.number().int().min(100).max(599),
      code: z.string().optional(),
      servedVersion: z.string().optional(),
      headers: z.array(z.string().min(1)).default([]),
      count: z.number().int().min(1).default(3),
      withinSeconds: seconds.default(20),
    })
    .strict(),
  /**
   * Events of `type` (`order.v2.OrderPlaced`) in `service`'s outbox: `published: true` is met by the
   * first one written after the step started; `published: false` by `quietSeconds` in which the
   * service wrote other events but none of this type. Within `withinSeconds`, or the drill fails.
   */
  z
    .object({
      ...common,
      fault: z.literal('expect-events'),
      service: z.enum(servicesWithDatabase),
      type: z.string().regex(/^[a-z]+\.v[0-9]+\.[A-Za-z]+$/),
      published: z.boolean(),
      quietSeconds: seconds.default(5),
      withinSeconds: seconds.default(20),
    })
    .strict(),
]);
export type FaultStep = z.infer<typeof faultStep>;

export const drillFile = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string().default(''),
    load: z
      .object({
        ratePerSecond: z.number().positive(),
        durationSeconds: z.number().positive(),
        customers: z.number().int().min(1).default(20),
        /** Requests (with their retries) open at once; above it the generator sheds (counted). */
        maxInFlight: z.number().int().min(1).default(300),
        requestTimeoutMs: z.number().int().positive().default(10_000),
        /** A request without a definite answer is retried with the same idempotency key for this long. */
        giveUpAfterSeconds: z.number().positive().default(120),
        /** The public API versions the clients use at the start, by weight; absent: no header. */
        clientVersions: clientVersions.optional(),
      })
      .strict(),
    stock: z
      .object({
        plenty: z.number().int().positive().default(10_000_000),
        scarce: z.number().int().positive().default(50),
      })
      .strict()
      .default({ plenty: 10_000_000, scarce: 50 }),
    /** Every order must be terminal, and every invariant hold, within this after the last fault healed. */
    healBoundSeconds: z.number().positive().default(120),
    /**
     * The production shape instead of one process each (see src/cluster/): NATS nodes (streams get
     * min(3, natsNodes) replicas), processes per service, a PostgreSQL standby to fail over to.
     */
    topology: z
      .object({
        natsNodes: z.number().int().min(1).max(5).default(3),
        replicas: z.number().int().min(1).max(5).default(2),
        postgresStandby: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** ORDERLY_* settings for every service process of this drill. */
    env: z.record(z.string().regex(/^ORDERLY_[A-Z0-9_]+$/), z.string()).default({}),
    steps: z.array(faultStep).default([]),
  })
  .strict();
export type Drill = z.infer<typeof drillFile>;

export function loadDrill(path: string): Drill {
  const parsed = drillFile.safeParse(parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${path} is not a valid drill:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return parsed.data;
}

/** The schedule with `repeat` unrolled: one entry per fault injection, in time order. */
export function expandSteps(
  steps: readonly FaultStep[],
): { step: FaultStep; at: number; index: number }[] {
  const expanded: { step: FaultStep; at: number }[] = [];
  for (const step of steps) {
    const times = step.repeat?.times ?? 1;
    for (let i = 0; i < times; i++)
      expanded.push({ step, at: step.at + i * (step.repeat?.everySeconds ?? 0) });
  }
  return expanded.sort((a, b) => a.at - b.at).map((e, index) => ({ ...e, index }));
}
