import { hasDatabase } from '@orderly/system';
import type { FaultStep } from './drill-file.js';
import type { BusInjection } from './bus-injection.js';
import { ClusterDrillEnvironment } from './cluster/cluster-environment.js';
import { replicaKey } from './cluster/topology.js';
import type { DrillEnvironment } from './environment.js';
import type { LoadGenerator, ProbeAnswer } from './load.js';
import { reorderEvents, reorderPairs } from './reorder.js';
import { services, type Service } from './service-processes.js';

/** One fault as it happened. */
export interface FaultRecord {
  readonly index: number;
  readonly fault: FaultStep['fault'];
  readonly target: string;
  readonly atSeconds: number;
  readonly durationMs: number;
  /** Until the faulted service answered /readyz again (restarts). */
  readonly recoveryMs?: number;
  /** Partitions: how long until /readyz turned false, and true again after the heal. */
  readonly readiness?: {
    readonly falseAfterMs: number | undefined;
    readonly trueAgainAfterMs: number | undefined;
  };
  readonly detail?: string;
  readonly error?: string;
  /** `expect-clients` steps: whether the clients got what the drill expects (not met fails the drill). */
  readonly expectation?: Expectation;
}

/** What an `expect-clients` step asked for and what its clients got (the last try's answers). */
export interface Expectation {
  readonly met: boolean;
  readonly expected: string;
  /** From the step's start until the clients got the expected answer (or the bound). */
  readonly afterMs: number;
  readonly tries: number;
  /** The last try's answers: status, code and served version of each. */
  readonly answers: readonly string[];
  /** Why the last try did not meet it. */
  readonly misses: readonly string[];
  /** The first answer's error message and the version headers it carried (the client's guidance). */
  readonly message?: string;
  readonly headers: Readonly<Record<string, string>>;
}

type ExpectStep = Extract<FaultStep, { fault: 'expect-clients' }>;
type ExpectEventsStep = Extract<FaultStep, { fault: 'expect-events' }>;

/** Why `answer` does not meet `step` (empty when it does). */
export function expectationMisses(step: ExpectStep, answer: ProbeAnswer): string[] {
  const misses: string[] = [];
  if (answer.status !== step.status)
    misses.push(
      `status ${answer.status}${answer.code ? ` ${answer.code}` : ''}, not ${step.status}`,
    );
  if (step.code !== undefined && answer.code !== step.code)
    misses.push(`code ${answer.code ?? 'none'}, not ${step.code}`);
  if (step.servedVersion !== undefined && answer.servedVersion !== step.servedVersion)
    misses.push(`served as version ${answer.servedVersion ?? 'none'}, not ${step.servedVersion}`);
  for (const header of step.headers)
    if (!answer.headers.includes(header.toLowerCase())) misses.push(`no ${header} header`);
  return misses;
}

const clientLabel = (version: string) => (version === 'none' ? 'unversioned' : `v${version}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Inventory's settlement consumer (services/inventory: settleReservationsSubscription). */
const settleReservationsSubscription = 'inventory.settle-reservations';
const refuseConfirmationsSql = `
  CREATE OR REPLACE FUNCTION chaos_refuse_confirmation() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'chaos: reservation confirmation refused'; END $$;
  DROP TRIGGER IF EXISTS chaos_refuse_confirmation ON reservations;
  CREATE TRIGGER chaos_refuse_confirmation BEFORE UPDATE ON reservations
    FOR EACH ROW WHEN (NEW.status = 'CONFIRMED') EXECUTE FUNCTION chaos_refuse_confirmation()`;
const allowConfirmationsSql =
  'DROP TRIGGER IF EXISTS chaos_refuse_confirmation ON reservations; DROP FUNCTION IF EXISTS chaos_refuse_confirmation()';
const readyTimeoutMs = 120_000;

/**
 * Injects the faults of a drill. Steps on the same target wait for each other (a kill never lands
 * on a service that is still restarting); everything else may overlap, as real failures do.
 */
export class FaultInjection {
  readonly records: FaultRecord[] = [];
  /** When the last fault was over (its service ready again, its link restored, its flags reverted). */
  lastHealedAt = 0;
  private readonly busy = new Map<string, Promise<unknown>>();
  private anyCursor = 0;
  private reorderCursor = 0;

  constructor(
    private readonly target: DrillEnvironment | ClusterDrillEnvironment,
    private readonly bus: BusInjection,
    private readonly load: LoadGenerator,
    private readonly log: (line: string) => void,
    private readonly since: () => string,
  ) {}

  async inject(step: FaultStep, index: number, at: number): Promise<void> {
    const started = Date.now();
    const record = (target: string, extra: Partial<FaultRecord> = {}) => {
      const r: FaultRecord = {
        index,
        fault: step.fault,
        target,
        atSeconds: at,
        durationMs: Date.now() - started,
        ...extra,
      };
      this.records.push(r);
      this.lastHealedAt = Math.max(this.lastHealedAt, Date.now());
      this.log(`  [${this.since()} s] ✔ ${step.fault} ${target}${describe(r)}`);
    };
    try {
      const outcome = await this.apply(step);
      record(outcome.target, outcome.extra);
    } catch (error) {
      record(step.fault, {
        error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
      });
    }
  }

  private announce(what: string): void {
    this.log(`  [${this.since()} s] ⚡ ${what}`);
  }

  private async apply(step: FaultStep): Promise<{ target: string; extra?: Partial<FaultRecord> }> {
    switch (step.fault) {
      case 'nats-node-kill':
      case 'nats-node-cut':
      case 'replica-kill':
      case 'postgres-failover':
        return this.applyToCluster(step, this.clusterEnv());
      case 'kill':
      case 'terminate': {
        const service = this.pick(step.service);
        const signal = step.fault === 'kill' ? 'SIGKILL' : 'SIGTERM';
        this.announce(`${step.fault === 'kill' ? 'kill -9' : 'SIGTERM'} ${service}`);
        const duringRelay = step.fault === 'kill' && step.duringRelay;
        return {
          target: service,
          extra: await this.exclusive(service, () =>
            this.restart(service, signal, step.downSeconds * 1000, duringRelay),
          ),
        };
      }
      case 'nats-restart':
        this.announce(`NATS restart (${step.signal}, down ${step.downSeconds} s)`);
        await this.exclusive('nats', async () => {
          await this.env.nats.stop(step.signal);
          await sleep(step.downSeconds * 1000);
          await this.env.nats.start();
        });
        return { target: 'nats' };
      case 'postgres-restart':
        this.announce(`PostgreSQL restart (down ${step.downSeconds} s)`);
        await this.exclusive('postgres', async () => {
          await this.env.postgres.stop();
          await sleep(step.downSeconds * 1000);
          await this.env.postgres.start();
        });
        return { target: 'postgres' };
      case 'postgres-cut': {
        this.announce('PostgreSQL: terminate every connection');
        const n = await this.exclusive('postgres', () => this.env.postgres.terminateConnections());
        return { target: 'postgres', extra: { detail: `${n} connections terminated` } };
      }
      case 'slow':
        this.announce(
          `${step.service}: +${step.latencyMs} ms, ${step.errorRatePercent}% errors for ${step.seconds} s (flags)`,
        );
        this.env.slowDown(step.service, step.latencyMs, step.errorRatePercent);
        await sleep(step.seconds * 1000);
        this.env.restoreSpeed();
        return { target: step.service, extra: { detail: 'flags reverted' } };
      case 'provider-outage':
        this.announce(
          `payment provider unreachable for ${step.seconds} s (flag payment-provider-outage)`,
        );
        await this.exclusive('payment-provider', async () => {
          this.env.setProviderOutage(true);
          await sleep(step.seconds * 1000);
          this.env.setProviderOutage(false);
        });
        return { target: 'payment-provider', extra: { detail: 'flag reverted' } };
      case 'partition': {
        const proxy = this.env.proxy(step.service, step.dependency);
        if (!proxy) throw new Error(`${step.service} has no ${step.dependency} link`);
        this.announce(
          `cut ${step.service} ↔ ${step.dependency} (${step.mode}) for ${step.seconds} s`,
        );
        const heal: { at?: number } = {};
        const readiness = this.watchReadiness(step.service, () => heal.at, Date.now());
        proxy.setMode(step.mode);
        await sleep(step.seconds * 1000);
        proxy.setMode('pass');
        heal.at = Date.now();
        return {
          target: `${step.service}↔${step.dependency}`,
          extra: { readiness: await readiness(), detail: step.mode },
        };
      }
      case 'duplicate':
        return {
          target: 'bus',
          extra: {
            detail: `${await this.bus.resend(step.count, 'random')} published events delivered again`,
          },
        };
      case 'reorder': {
        // Each reorder step takes the next pair: a later event (the order's cancellation) reaches its consumer first.
        const pair = reorderPairs[this.reorderCursor++ % reorderPairs.length]!;
        const link = this.env.proxy(pair.consumer, 'nats');
        if (!link) throw new Error(`${pair.consumer} has no nats link`);
        this.announce(
          `reorder: hold back up to ${step.count} ${pair.eventType} from ${pair.consumer} until their orders' cancellation is applied`,
        );
        const sagaTimeoutMs = Number(
          this.env.drill.env.ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS ?? 30_000,
        );
        const o = await reorderEvents(this.env.nats.url, this.env.sql.bind(this.env), link, pair, {
          count: step.count,
          cutMs: 3000,
          boundMs: sagaTimeoutMs + 60_000,
        });
        const detail = `${o.held} ${pair.eventType} held back; ${o.reordered} delivered to ${pair.consumer} after it applied the order's cancellation, ${o.releasedAtBound} released at the bound`;
        // Nothing delivered later-before-earlier: the fault did not happen (a warning in the report).
        if (o.reordered === 0) throw new Error(detail);
        return { target: `${pair.consumer} (${pair.eventType})`, extra: { detail } };
      }
      case 'dead-letter-and-redrive': {
        // A settlement that keeps failing (the database refuses it) exhausts its retries and is dead-lettered;
        // its reservation must still be held (and sold) when an operator redrives it after reservationTtlMs.
        this.announce(
          `inventory refuses reservation confirmations for ${step.seconds} s, redrive at +${step.redriveAfterSeconds} s`,
        );
        const started = Date.now();
        await this.env.sql('inventory', refuseConfirmationsSql);
        try {
          await sleep(step.seconds * 1000);
        } finally {
          await this.env.sql('inventory', allowConfirmationsSql);
        }
        await sleep(Math.max(0, started + step.redriveAfterSeconds * 1000 - Date.now()));
        const redriven = await this.bus.redrive(settleReservationsSubscription);
        // Nothing dead-lettered means the step tested nothing (no confirmation exhausted its retries
        // inside the window): reported as not injected rather than passed.
        if (redriven === 0)
          throw new Error(
            `no settlement was dead-lettered in ${step.seconds} s (retries outlasted the window, or no order was confirmed)`,
          );
        return {
          target: 'inventory',
          extra: { detail: `${redriven} dead-lettered settlements redriven` },
        };
      }
      case 'poison':
        await this.bus.poison(step.count);
        return { target: 'bus', extra: { detail: `${step.count} undecodable OrderPlaced` } };
      case 'set-flag':
        this.announce(`flag ${step.flag} → ${step.variant}`);
        this.env.setFlag(step.flag, step.variant);
        return {
          target: `flag ${step.flag}`,
          extra: { detail: `default variant ${step.variant}` },
        };
      case 'set-config': {
        const keys = Object.entries(step.set)
          .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
          .join(', ');
        this.announce(
          `configuration ${keys}${step.restart.length > 0 ? `; rolling restart of ${step.restart.join(', ')}` : ''}`,
        );
        this.env.setConfig(step.set);
        const restarted: string[] = [];
        for (const service of step.restart) {
          const outcome = await this.exclusive(service, () =>
            this.restart(service, 'SIGTERM', 0, false),
          );
          restarted.push(`${service} ${outcome.detail ?? ''}, ready in ${outcome.recoveryMs} ms`);
        }
        return {
          target: step.restart.length > 0 ? `config + ${step.restart.join(', ')}` : 'config',
          extra: {
            detail: `${keys}${restarted.length > 0 ? `; restarted ${restarted.join('; ')}` : ''}`,
          },
        };
      }
      case 'clients': {
        const mix = Object.entries(step.versions)
          .map(([version, weight]) => `${clientLabel(version)} ${weight}`)
          .join(', ');
        this.announce(`clients now ${mix}`);
        this.load.setClientVersions(step.versions);
        return { target: 'clients', extra: { detail: mix } };
      }
      case 'expect-clients':
        return this.expectClients(step);
      case 'expect-events':
        return this.expectEvents(step);
      case 'burst':
        this.announce(`burst ×${step.multiplier} for ${step.seconds} s`);
        this.load.setMultiplier(step.multiplier);
        await sleep(step.seconds * 1000);
        this.load.setMultiplier(1);
        return { target: 'load', extra: { detail: `×${step.multiplier}` } };
    }
  }

  /**
   * Probes as clients of the step's version until they get what it expects or `withinSeconds`
   * passed; each try places `count` orders (accepted ones are real and checked like the rest).
   */
  private async expectClients(
    step: ExpectStep,
  ): Promise<{ target: string; extra: Partial<FaultRecord> }> {
    const label = clientLabel(step.version);
    const bodyVersion = step.bodyVersion ?? (step.version === '2' ? '2' : '1');
    const expected = [
      `${step.status}`,
      step.code,
      step.servedVersion === undefined ? undefined : `served as v${step.servedVersion}`,
      ...step.headers,
    ]
      .filter(Boolean)
      .join(', ');
    this.announce(`expect ${label} clients to get ${expected}`);
    const started = Date.now();
    const deadline = started + step.withinSeconds * 1000;
    let answers: ProbeAnswer[] = [];
    let misses: string[] = [];
    let tries = 0;
    for (;;) {
      tries++;
      answers = await this.load.probe(step.version, bodyVersion, step.count);
      misses = [...new Set(answers.flatMap((answer) => expectationMisses(step, answer)))];
      if (misses.length === 0 || Date.now() >= deadline) break;
      await sleep(500);
    }
    const first = answers[0];
    const expectation: Expectation = {
      met: misses.length === 0,
      expected,
      afterMs: Date.now() - started,
      tries,
      answers: answers.map(
        (a) =>
          `${a.status}${a.code ? ` ${a.code}` : ''}${a.servedVersion ? ` (v${a.servedVersion})` : ''}`,
      ),
      misses,
      ...(first?.message ? { message: first.message } : {}),
      headers: first?.headerValues ?? {},
    };
    const seen = `${expectation.answers.join(', ')}${first?.message ? ` — "${first.message}"` : ''}`;
    return {
      target: `${label} clients`,
      extra: {
        expectation,
        detail: expectation.met
          ? `got ${expected} after ${expectation.afterMs} ms (${tries} tr${tries === 1 ? 'y' : 'ies'}): ${seen}`
          : `NOT MET within ${step.withinSeconds} s: ${misses.join('; ')}; last answers ${seen}`,
      },
    };
  }

  /**
   * Watches `step.service`'s outbox from the step's start: the first row of the type (published:
   * true), or `quietSeconds` with other rows but none of the type (published: false).
   */
  private async expectEvents(
    step: ExpectEventsStep,
  ): Promise<{ target: string; extra: Partial<FaultRecord> }> {
    const expected = step.published
      ? `${step.type} written`
      : `no ${step.type} for ${step.quietSeconds} s while ${step.service} writes other events`;
    this.announce(`expect ${expected}`);
    const rows = async (after: string) => {
      const [row] = await this.env.sql<{ last: string; mine: string; others: string }>(
        step.service,
        `SELECT coalesce(max(seq), $1::bigint)::text AS last,
                count(*) FILTER (WHERE event_type = $2)::text AS mine,
                count(*) FILTER (WHERE event_type <> $2)::text AS others
           FROM outbox WHERE seq > $1::bigint`,
        [after, step.type],
      );
      return { last: row?.last ?? after, mine: Number(row?.mine), others: Number(row?.others) };
    };
    const started = Date.now();
    const deadline = started + step.withinSeconds * 1000;
    let cursor = (await rows('0')).last;
    let quietSince = Date.now();
    let seen = 0;
    let lastSeenMs: number | undefined;
    let others = 0;
    let met = false;
    let tries = 0;
    for (;;) {
      tries++;
      await sleep(250);
      const next = await rows(cursor);
      cursor = next.last;
      seen += next.mine;
      if (next.mine > 0) lastSeenMs = Date.now() - started;
      others += next.others;
      if (step.published && next.mine > 0) met = true;
      if (!step.published) {
        if (next.mine > 0) {
          quietSince = Date.now();
          others = 0;
        } else if (others > 0 && Date.now() - quietSince >= step.quietSeconds * 1000) met = true;
      }
      if (met || Date.now() >= deadline) break;
    }
    const afterMs = Date.now() - started;
    const expectation: Expectation = {
      met,
      expected,
      afterMs,
      tries,
      answers: [
        `${seen} ${step.type} after the step${lastSeenMs === undefined ? '' : ` (the last at +${lastSeenMs} ms)`}`,
        `${others} other events${step.published ? '' : ' in the quiet time'}`,
      ],
      misses: met
        ? []
        : [
            step.published
              ? `no ${step.type} written`
              : `${step.type} still written (or no other events)`,
          ],
      headers: {},
    };
    return {
      target: `${step.service} outbox`,
      extra: {
        expectation,
        detail: met
          ? `${expected}: met after ${afterMs} ms`
          : `NOT MET within ${step.withinSeconds} s: ${expectation.misses.join('; ')}`,
      },
    };
  }

  /** The single-process environment the classic faults act on. */
  private get env(): DrillEnvironment {
    if (this.target instanceof ClusterDrillEnvironment)
      throw new Error('this fault needs one process per service (a drill without topology)');
    return this.target;
  }

  private clusterEnv(): ClusterDrillEnvironment {
    if (!(this.target instanceof ClusterDrillEnvironment))
      throw new Error('this fault needs the cluster topology (a drill with topology)');
    return this.target;
  }

  /** Faults of the production shape: NATS nodes, service replicas, the PostgreSQL primary. */
  private async applyToCluster(
    step: Extract<
      FaultStep,
      { fault: 'nats-node-kill' | 'nats-node-cut' | 'replica-kill' | 'postgres-failover' }
    >,
    env: ClusterDrillEnvironment,
  ): Promise<{ target: string; extra?: Partial<FaultRecord> }> {
    const topology = env.topology;
    const stream = 'ORDERLY_EVENTS';
    const nodeOf = async (node: string) =>
      node === 'stream-leader' ? ((await topology.streamCluster(stream)).leader ?? 'n1') : node;
    switch (step.fault) {
      case 'nats-node-kill': {
        const node = await nodeOf(step.node);
        return this.exclusive('nats', async () => {
          const before = await topology.streamCluster(stream);
          this.announce(
            `${step.signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} NATS node ${node} (stream leader ${before.leader ?? '?'}), down ${step.downSeconds} s`,
          );
          const killedAt = Date.now();
          await topology.killNatsNode(node, step.signal);
          const elected = await this.newLeader(topology, stream, node, killedAt);
          await sleep(Math.max(0, killedAt + step.downSeconds * 1000 - Date.now()));
          const restartedAt = Date.now();
          await topology.startNatsNode(node);
          const healthy = await topology.nats.waitForStreamHealthy(stream, readyTimeoutMs);
          return {
            target: `nats ${node}${node === before.leader ? ' (stream leader)' : ''}`,
            extra: {
              recoveryMs: Date.now() - restartedAt,
              detail: `${elected}; back with every replica current ${Date.now() - restartedAt} ms after its restart (leader ${healthy.leader ?? '?'}, ${healthy.lastSeq} messages)`,
            },
          };
        });
      }
      case 'nats-node-cut': {
        const node = await nodeOf(step.node);
        return this.exclusive('nats', async () => {
          const before = await topology.streamCluster(stream);
          this.announce(
            `cut NATS node ${node} (stream leader ${before.leader ?? '?'}) off from the others (${step.mode}) for ${step.seconds} s`,
          );
          const cutAt = Date.now();
          topology.cutNatsNode(node, step.mode);
          const elected = await this.newLeader(topology, stream, node, cutAt, step.seconds * 1000);
          await sleep(Math.max(0, cutAt + step.seconds * 1000 - Date.now()));
          topology.healNatsNode(node);
          const healedAt = Date.now();
          const healthy = await topology.nats.waitForStreamHealthy(stream, readyTimeoutMs);
          return {
            target: `nats ${node}${node === before.leader ? ' (stream leader)' : ''}`,
            extra: {
              recoveryMs: Date.now() - healedAt,
              detail: `${step.mode}: ${elected}; every replica current ${Date.now() - healedAt} ms after the heal (leader ${healthy.leader ?? '?'})`,
            },
          };
        });
      }
      case 'replica-kill': {
        const service = this.pick(step.service);
        const key = replicaKey(service, step.replica);
        this.announce(`kill -9 ${key}, down ${step.downSeconds} s`);
        return {
          target: key,
          extra: await this.exclusive(key, async () => {
            await topology.stopReplica(key, 'SIGKILL');
            await sleep(step.downSeconds * 1000);
            return { recoveryMs: await topology.startReplica(key) };
          }),
        };
      }
      case 'postgres-failover':
        return this.exclusive('postgres', async () => {
          this.announce(
            `kill -9 PostgreSQL primary :${topology.postgres.primary.port}, promote the standby :${topology.postgres.standby?.port ?? '?'}`,
          );
          const failover = await topology.failoverPostgres();
          const rebuilt = step.rebuildStandby ? await topology.rebuildPostgresStandby() : undefined;
          return {
            target: 'postgres primary',
            extra: {
              recoveryMs: failover.movedAfterMs,
              detail: `promoted ${failover.promotedAfterMs} ms after the kill, address moved at ${failover.movedAfterMs} ms (${failover.detail})${rebuilt === undefined ? '' : `; new synchronous standby after another ${rebuilt} ms`}`,
            },
          };
        });
    }
  }

  /** Polls the stream's leader (asking the other nodes) until it is not `lost`; says when. */
  private async newLeader(
    topology: ClusterDrillEnvironment['topology'],
    stream: string,
    lost: string,
    since: number,
    boundMs = 30_000,
  ): Promise<string> {
    const deadline = since + boundMs;
    while (Date.now() < deadline) {
      const info = await topology.nats
        .streamCluster(stream, { exclude: lost })
        .catch(() => undefined);
      if (info?.leader && info.leader !== lost)
        return `stream leader ${info.leader} ${Date.now() - since} ms after`;
      await sleep(100);
    }
    return `no other stream leader within ${boundMs} ms (${lost} was not the leader, or none was elected)`;
  }

  /** `any`: each service in turn. */
  private pick(service: Service | 'any'): Service {
    return service === 'any' ? (services[this.anyCursor++ % services.length] as Service) : service;
  }

  private exclusive<T>(target: string, work: () => Promise<T>): Promise<T> {
    const run = (this.busy.get(target) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.busy.set(target, run);
    return run;
  }

  private async restart(
    service: Service,
    signal: 'SIGKILL' | 'SIGTERM',
    downMs: number,
    duringRelay: boolean,
  ): Promise<Partial<FaultRecord>> {
    const { system } = this.env;
    let detail = '';
    if (duringRelay && hasDatabase(service)) {
      // Wait (briefly) for the relay to have work, so the kill lands mid relay / mid batch.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const [row] = await this.env
          .sql<{ n: string }>(
            service,
            'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL',
          )
          .catch(() => [{ n: '0' }]);
        if (Number(row?.n) > 0) {
          detail = `${row?.n} outbox rows pending at the kill`;
          break;
        }
        await sleep(20);
      }
    }
    const code = await system.stop(service, signal);
    if (signal === 'SIGTERM') detail = `exit code ${code ?? 'null'}`;
    await sleep(downMs);
    const restartedAt = Date.now();
    system.start(service);
    await system.waitReady(service, readyTimeoutMs);
    return { recoveryMs: Date.now() - restartedAt, detail };
  }

  /** Polls /readyz during a cut and after its heal; the returned function waits for the verdict. */
  private watchReadiness(service: Service, healedAt: () => number | undefined, startedAt: number) {
    let falseAt: number | undefined;
    let trueAgainAt: number | undefined;
    const loop = (async () => {
      for (;;) {
        const ready = await this.env.system.isReady(service);
        const healed = healedAt();
        if (!ready && falseAt === undefined) falseAt = Date.now();
        if (ready && healed !== undefined && falseAt !== undefined && trueAgainAt === undefined)
          trueAgainAt = Date.now();
        if (
          healed !== undefined &&
          (trueAgainAt !== undefined || falseAt === undefined || Date.now() - healed > 60_000)
        )
          return;
        await sleep(250);
      }
    })();
    return async () => {
      await loop;
      const healed = healedAt() ?? Date.now();
      return {
        falseAfterMs: falseAt === undefined ? undefined : falseAt - startedAt,
        trueAgainAfterMs: trueAgainAt === undefined ? undefined : trueAgainAt - healed,
      };
    };
  }
}

function describe(r: FaultRecord): string {
  const parts: string[] = [];
  if (r.recoveryMs !== undefined) parts.push(` ready again in ${r.recoveryMs} ms`);
  if (r.readiness)
    parts.push(
      ` readiness false after ${r.readiness.falseAfterMs ?? '—'} ms, true ${r.readiness.trueAgainAfterMs ?? '—'} ms after heal`,
    );
  if (r.detail) parts.push(` (${r.detail})`);
  if (r.error) parts.push(` ERROR ${r.error}`);
  return parts.join('');
}
