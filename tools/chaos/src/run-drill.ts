import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { connectNatsBus, type DeadLetter } from '@orderly/platform';
import { expandSteps, type Drill, type FaultStep } from './drill-file.js';
import { NatsServer, PostgresServer } from './infrastructure.js';
import { catalog, LoadGenerator, type LoadStats } from './load.js';
import { waitForInvariants, type InvariantReport } from './invariants.js';
import { freePort } from './ports.js';
import { ServiceProcesses, services, servicesWithDatabase, repoRoot, type Service, type ServiceWithDatabase } from './service-processes.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * Runs one drill: its own PostgreSQL and NATS (restartable), a TCP proxy per service and
 * dependency (cuttable), one process per service, the load, the fault schedule, then waits for
 * the system to heal and checks every invariant. Returns the report; never throws for a broken
 * invariant (the report says so), only when the system cannot be set up.
 */
export interface FaultRecord {
  readonly index: number;
  readonly fault: FaultStep['fault'];
  readonly target: string;
  readonly atSeconds: number;
  readonly durationMs: number;
  /** Until the faulted service answered /readyz again (restarts). */
  readonly recoveryMs?: number;
  /** Partitions: how long until /readyz turned false, and true again after the heal. */
  readonly readiness?: { readonly falseAfterMs: number | undefined; readonly trueAgainAfterMs: number | undefined };
  readonly detail?: string;
  readonly error?: string;
}

export interface DrillReport {
  readonly drill: string;
  readonly description: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpus: number; memoryGiB: number; node: string };
  readonly load: LoadStats & { ratePerSecond: number; durationSeconds: number };
  readonly faults: FaultRecord[];
  readonly faultCounts: Record<string, number>;
  readonly unexpectedExits: { service: string; code: number | null; signal: string | null; atSeconds: number }[];
  readonly heal: { boundSeconds: number; healedAfterMs: number | undefined; lastFaultHealedAtSeconds: number; loadEndedAtSeconds: number };
  readonly outcome: { orders: number; confirmed: number; cancelled: Record<string, number>; open: number };
  readonly deadLetters: { total: number; injectedPoison: number };
  readonly invariants: InvariantReport['invariants'];
  readonly violations: number;
  readonly ok: boolean;
  readonly refusals: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const envKey = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

type Dependency = 'postgres' | 'nats';

export interface RunOptions {
  /** Where the services' output goes (outside the repository); none when absent. */
  readonly serviceLog?: string;
  readonly log?: (line: string) => void;
}

export async function runDrill(drill: Drill, options: RunOptions = {}): Promise<DrillReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), `orderly-chaos-${drill.name}-`));
  // As root, PostgreSQL runs as its own user, which must be able to enter the drill's folder.
  chmodSync(workDir, 0o755);
  const postgres = new PostgresServer(await freePort(), join(workDir, 'postgres'));
  const nats = new NatsServer(await freePort(), join(workDir, 'nats'));
  const proxies = new Map<string, TcpProxy>();
  const proxy = (service: Service, dependency: Dependency) => proxies.get(`${service}/${dependency}`);
  const flagsFile = join(workDir, 'flags.json');
  const baseFlags = JSON.parse(readFileSync(join(repoRoot, 'flags/flags.json'), 'utf8')) as { flags: Record<string, Record<string, unknown>> };
  writeFileSync(flagsFile, JSON.stringify(baseFlags, null, 2));
  const admin = { email: 'admin@chaos.orderly.test', password: `chaos-admin-${randomBytes(8).toString('hex')}` };
  const ports = {} as Record<Service, number>;
  for (const s of services) ports[s] = await freePort();
  let processes: ServiceProcesses | undefined;

  try {
    log(`▶ drill ${drill.name}: ${drill.description}`);
    log(`  work dir ${workDir}`);
    await postgres.start();
    await nats.start();
    log(`  PostgreSQL :${postgres.port}, NATS :${nats.port} (the drill's own)`);
    for (const service of servicesWithDatabase) {
      for (const [dependency, port] of [['postgres', postgres.port], ['nats', nats.port]] as const) {
        const p = new TcpProxy(`${service}/${dependency}`, { host: '127.0.0.1', port });
        await p.start();
        proxies.set(p.name, p);
      }
    }

    const commonEnv: Record<string, string> = {
      ORDERLY_LOG_LEVEL: 'warn',
      ORDERLY_DATA_DIR: workDir,
      ORDERLY_POSTGRES__POOL_SIZE: '5',
      ORDERLY_BUS__KIND: 'nats',
      ORDERLY_BUS__RETRY_BACKOFF_MS: '[100,500,1000,2000]',
      ORDERLY_BUS__ACK_WAIT_MS: '10000',
      ORDERLY_OUTBOX__POLL_INTERVAL_MS: '250',
      ORDERLY_OUTBOX__RETRY_MAX_MS: '2000',
      ORDERLY_SHUTDOWN__GRACE_MS: '10000',
      ORDERLY_TELEMETRY__ENABLED: 'false',
      ORDERLY_FLAGS__FILE: flagsFile,
      ORDERLY_SERVICES__INVENTORY__SEED_DEMO_CATALOG: 'false',
      // Tokens are fetched once before the drill; a long drill must not outlive them.
      ORDERLY_SERVICES__IDENTITY__ACCESS_TOKEN_TTL_MS: String(4 * 3600_000),
      ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__EMAIL: admin.email,
      ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__PASSWORD: admin.password,
      ORDERLY_SERVICES__IDENTITY__PASSWORD__SCRYPT__COST: '1024',
      ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: `http://127.0.0.1:${ports.order}`,
      ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: `http://127.0.0.1:${ports.inventory}`,
      ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: `http://127.0.0.1:${ports.identity}`,
    };
    for (const limit of ['PER_ADDRESS', 'PER_USER', 'LOGIN', 'LOGIN_ACCOUNT']) {
      commonEnv[`ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__${limit}__BURST`] = '1000000';
      commonEnv[`ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__${limit}__PER_MINUTE`] = '1000000';
    }
    for (const s of services) commonEnv[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(ports[s]);
    const envFor = (service: Service): Record<string, string> => {
      const env = { ...commonEnv, ...drill.env };
      const pgProxy = proxy(service, 'postgres');
      const natsProxy = proxy(service, 'nats');
      // Each service reaches its dependencies through its own proxies, so one link can be cut alone.
      if (pgProxy) env.ORDERLY_POSTGRES__URL = postgres.urlOn(pgProxy.port);
      if (natsProxy) env.ORDERLY_BUS__NATS_SERVERS = `nats://127.0.0.1:${natsProxy.port}`;
      return env;
    };
    const duplicateWindowMs = Number(drill.env.ORDERLY_BUS__DUPLICATE_WINDOW_MS ?? 120_000);
    processes = new ServiceProcesses(envFor, ports, 1000, options.serviceLog);
    if (options.serviceLog) log(`  service output → ${options.serviceLog}`);
    const system = processes;
    for (const s of services) system.start(s);
    await Promise.all(services.map((s) => system.waitReady(s, 120_000)));
    log(`  services ready: ${services.map((s) => `${s}:${ports[s]}`).join(' ')}`);

    const gatewayUrl = system.url('gateway');
    const stockAtStart = await createCatalog(gatewayUrl, admin, drill.stock);
    const load = new LoadGenerator({
      gatewayUrl,
      customers: drill.load.customers,
      maxInFlight: drill.load.maxInFlight,
      requestTimeoutMs: drill.load.requestTimeoutMs,
      giveUpAfterMs: drill.load.giveUpAfterSeconds * 1000,
      password: `chaos-customer-${randomBytes(6).toString('hex')}`,
    });
    await load.prepare();
    log(`  catalog ${JSON.stringify(stockAtStart)}; ${drill.load.customers} customers logged in`);

    const sql = async <Row = Record<string, unknown>>(service: ServiceWithDatabase, text: string, values: unknown[] = []): Promise<Row[]> => {
      const client = new pg.Client({ connectionString: postgres.url.replace(/\/postgres$/, `/orderly_${service}`), connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as Row[];
      } finally {
        await client.end();
      }
    };

    // The drill's own connection to NATS (not through a proxy) for duplicate, reordered and poison messages.
    const poisonIds = new Set<string>();
    const publishRaw = async (messages: { subject: string; data: Uint8Array; headers: Record<string, string>; msgId: string }[]) => {
      const nc = await connect({ servers: nats.url });
      try {
        const js = jetstream(nc);
        for (const m of messages) {
          const h = natsHeaders();
          for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
          await js.publish(m.subject, m.data, { msgID: m.msgId, headers: h });
        }
      } finally {
        await nc.close();
      }
    };
    const publishedEvents = async (count: number, order: 'random' | 'latest') => {
      const rows: { event_id: string; subject: string; payload: Buffer; headers: Record<string, string>; seq: string }[] = [];
      for (const service of ['order', 'inventory', 'payment'] as const) {
        rows.push(
          ...(await sql<(typeof rows)[number]>(
            service,
            `SELECT event_id::text, subject, payload, headers, seq::text FROM outbox WHERE published_at IS NOT NULL
              ORDER BY ${order === 'random' ? 'random()' : 'seq DESC'} LIMIT $1`,
            [count],
          )),
        );
      }
      return (order === 'random' ? rows.sort(() => Math.random() - 0.5) : rows).slice(0, count);
    };

    const faults: FaultRecord[] = [];
    const busy = new Map<string, Promise<unknown>>();
    /** Steps on the same target wait for each other (a kill never lands on a service mid-restart). */
    const exclusive = async <T>(target: string, work: () => Promise<T>): Promise<T> => {
      const before = busy.get(target) ?? Promise.resolve();
      const run = before.catch(() => undefined).then(work);
      busy.set(target, run);
      return run;
    };
    let lastHealedAt = 0;
    let anyCursor = 0;
    const t0 = Date.now();
    const since = () => ((Date.now() - t0) / 1000).toFixed(1);

    const restartService = async (service: Service, signal: 'SIGKILL' | 'SIGTERM', downMs: number, duringRelay: boolean) => {
      let detail = '';
      if (duringRelay && service !== 'gateway') {
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const [row] = await sql<{ n: string }>(service, 'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL').catch(() => [{ n: '0' }]);
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
      await system.waitReady(service, 120_000);
      return { recoveryMs: Date.now() - restartedAt, detail };
    };

    const watchReadiness = (service: Service, healedAt: () => number | undefined, startedAt: number) => {
      let falseAt: number | undefined;
      let trueAgainAt: number | undefined;
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const ready = await system.isReady(service);
          const healed = healedAt();
          if (!ready && falseAt === undefined) falseAt = Date.now();
          if (ready && healed !== undefined && falseAt !== undefined && trueAgainAt === undefined) trueAgainAt = Date.now();
          if (healed !== undefined && (trueAgainAt !== undefined || falseAt === undefined || Date.now() - healed > 60_000)) return;
          await sleep(250);
        }
      })();
      return async () => {
        await loop;
        stop = true;
        const healed = healedAt() ?? Date.now();
        return {
          falseAfterMs: falseAt === undefined ? undefined : falseAt - startedAt,
          trueAgainAfterMs: trueAgainAt === undefined ? undefined : trueAgainAt - healed,
        };
      };
    };

    const inject = async (step: FaultStep, index: number, at: number): Promise<void> => {
      const started = Date.now();
      const record = (target: string, extra: Partial<FaultRecord> = {}) => {
        const r: FaultRecord = { index, fault: step.fault, target, atSeconds: at, durationMs: Date.now() - started, ...extra };
        faults.push(r);
        lastHealedAt = Math.max(lastHealedAt, Date.now());
        log(
          `  [${since()} s] ✔ ${step.fault} ${target}${r.recoveryMs !== undefined ? ` ready again in ${r.recoveryMs} ms` : ''}${r.readiness ? ` readiness false after ${r.readiness.falseAfterMs ?? '—'} ms, true ${r.readiness.trueAgainAfterMs ?? '—'} ms after heal` : ''}${r.detail ? ` (${r.detail})` : ''}${r.error ? ` ERROR ${r.error}` : ''}`,
        );
      };
      const pickService = (s: Service | 'any'): Service => (s === 'any' ? services[anyCursor++ % services.length]! : s);
      try {
        switch (step.fault) {
          case 'kill':
          case 'terminate': {
            const service = pickService(step.service);
            log(`  [${since()} s] ⚡ ${step.fault === 'kill' ? 'kill -9' : 'SIGTERM'} ${service}`);
            const result = await exclusive(service, () =>
              restartService(service, step.fault === 'kill' ? 'SIGKILL' : 'SIGTERM', step.downSeconds * 1000, step.fault === 'kill' && step.duringRelay),
            );
            return record(service, result);
          }
          case 'nats-restart': {
            log(`  [${since()} s] ⚡ NATS restart (${step.signal}, down ${step.downSeconds} s)`);
            await exclusive('nats', async () => {
              await nats.stop(step.signal);
              await sleep(step.downSeconds * 1000);
              await nats.start();
            });
            return record('nats');
          }
          case 'postgres-restart': {
            log(`  [${since()} s] ⚡ PostgreSQL restart (down ${step.downSeconds} s)`);
            await exclusive('postgres', async () => {
              await postgres.stop();
              await sleep(step.downSeconds * 1000);
              await postgres.start();
            });
            return record('postgres');
          }
          case 'postgres-cut': {
            log(`  [${since()} s] ⚡ PostgreSQL: terminate every connection`);
            const n = await exclusive('postgres', () => postgres.terminateConnections());
            return record('postgres', { detail: `${n} connections terminated` });
          }
          case 'slow': {
            log(`  [${since()} s] ⚡ ${step.service}: +${step.latencyMs} ms, ${step.errorRatePercent}% errors for ${step.seconds} s (flags)`);
            writeFileSync(flagsFile, JSON.stringify(slowFlags(baseFlags, step.service, step.latencyMs, step.errorRatePercent), null, 2));
            await sleep(step.seconds * 1000);
            writeFileSync(flagsFile, JSON.stringify(baseFlags, null, 2));
            return record(step.service, { detail: 'flags reverted' });
          }
          case 'partition': {
            const p = proxy(step.service, step.dependency);
            if (!p) throw new Error(`${step.service} has no ${step.dependency} link`);
            log(`  [${since()} s] ⚡ cut ${step.service} ↔ ${step.dependency} (${step.mode}) for ${step.seconds} s`);
            const heal: { at?: number } = {};
            const readiness = watchReadiness(step.service, () => heal.at, Date.now());
            p.setMode(step.mode);
            await sleep(step.seconds * 1000);
            p.setMode('pass');
            heal.at = Date.now();
            return record(`${step.service}↔${step.dependency}`, { readiness: await readiness(), detail: step.mode });
          }
          case 'duplicate': {
            const events = await publishedEvents(step.count, 'random');
            await publishRaw(events.map((e) => ({ subject: e.subject, data: new Uint8Array(e.payload), headers: { ...e.headers, 'Orderly-Event-Id': e.event_id }, msgId: `chaos-dup-${randomUUID()}` })));
            return record('bus', { detail: `${events.length} published events delivered again` });
          }
          case 'reorder': {
            const events = await publishedEvents(step.count, 'latest');
            // The newest events first, then older ones: each consumer sees them against causal order.
            await publishRaw(events.map((e) => ({ subject: e.subject, data: new Uint8Array(e.payload), headers: { ...e.headers, 'Orderly-Event-Id': e.event_id }, msgId: `chaos-reorder-${randomUUID()}` })));
            return record('bus', { detail: `${events.length} events re-sent newest first` });
          }
          case 'poison': {
            const messages = Array.from({ length: step.count }, () => {
              const id = `chaos-poison-${randomUUID()}`;
              poisonIds.add(id);
              // An over-long varint: no protobuf decoder accepts it.
              return { subject: 'events.order.v1.OrderPlaced', data: new Uint8Array(11).fill(0xff), headers: { 'Orderly-Event-Id': id, 'Orderly-Event-Type': 'order.v1.OrderPlaced' }, msgId: id };
            });
            await publishRaw(messages);
            return record('bus', { detail: `${step.count} undecodable OrderPlaced` });
          }
          case 'burst': {
            log(`  [${since()} s] ⚡ burst ×${step.multiplier} for ${step.seconds} s`);
            load.setMultiplier(step.multiplier);
            await sleep(step.seconds * 1000);
            load.setMultiplier(1);
            return record('load', { detail: `×${step.multiplier}` });
          }
        }
      } catch (error) {
        record(step.fault, { error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
      }
    };

    // The schedule runs beside the load; every step starts at its time.
    const schedule = expandSteps(drill.steps);
    const injections = schedule.map(({ step, at, index }) => sleep(at * 1000).then(() => inject(step, index, at)));
    let lastProgress = 0;
    const progress = () => {
      if (Date.now() - lastProgress < 5000) return;
      lastProgress = Date.now();
      const s = load.stats;
      log(`  [${since()} s] offered ${s.offered} accepted ${s.accepted} open ${load.open} retries ${s.retries} shed ${s.shed} ${JSON.stringify(s.byStatus)}`);
    };
    await load.run(drill.load.ratePerSecond, drill.load.durationSeconds * 1000, progress);
    log(`  [${since()} s] load stopped; waiting for open requests and the remaining faults`);
    await Promise.all(injections);
    await load.settle();
    const loadEndedAt = Date.now();
    lastHealedAt = Math.max(lastHealedAt, loadEndedAt);
    log(`  [${since()} s] all faults healed; ${load.stats.accepted} orders accepted; waiting for the system to settle (bound ${drill.healBoundSeconds} s)`);

    let deadLetters: DeadLetter[] = [];
    let lastLog = 0;
    const { report, heldAfterMs } = await waitForInvariants(
      async (service, text, values) => {
        return sql(service, text, values);
      },
      {
        stockAtStart,
        acceptedIds: load.acceptedIds,
        sentIdempotencyKeys: load.sentKeys,
        get deadLetters() {
          return deadLetters;
        },
        explainedEventIds: poisonIds,
      },
      {
        timeoutMs: Math.max(0, drill.healBoundSeconds * 1000 - (Date.now() - lastHealedAt)),
        intervalMs: 1000,
        beforeCheck: async () => {
          deadLetters = await listDeadLetters(nats.url, duplicateWindowMs);
        },
        onCheck: (r) => {
          if (Date.now() - lastLog > 5000 && !r.ok) {
            lastLog = Date.now();
            log(`  [${since()} s] not yet: ${r.problems.map((p) => p.slice(0, 120)).join(' | ')}`);
          }
        },
      },
    );
    const healedAfterMs = heldAfterMs === undefined ? undefined : Date.now() - lastHealedAt;
    log(`  [${since()} s] ${report.ok ? `healed: every invariant holds ${healedAfterMs} ms after the last fault` : `NOT HEALED within ${drill.healBoundSeconds} s`}`);

    const exits = await system.stopAll();
    const badExits = Object.entries(exits).filter(([, code]) => code !== 0);
    if (badExits.length > 0) log(`  graceful stop exit codes: ${JSON.stringify(exits)}`);
    const faultCounts: Record<string, number> = {};
    for (const f of faults) faultCounts[f.fault] = (faultCounts[f.fault] ?? 0) + 1;
    const violations = report.invariants.reduce((n, i) => n + i.violations, 0);
    return {
      drill: drill.name,
      description: drill.description,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      load: { ...load.stats, ratePerSecond: drill.load.ratePerSecond, durationSeconds: drill.load.durationSeconds },
      faults: faults.sort((a, b) => a.index - b.index),
      faultCounts,
      unexpectedExits: system.unexpectedExits.map((e) => ({ service: e.service, code: e.code, signal: e.signal, atSeconds: Math.round((e.at - t0) / 100) / 10 })),
      heal: {
        boundSeconds: drill.healBoundSeconds,
        healedAfterMs,
        lastFaultHealedAtSeconds: Math.round((lastHealedAt - t0) / 100) / 10,
        loadEndedAtSeconds: Math.round((loadEndedAt - t0) / 100) / 10,
      },
      outcome: { orders: report.orders, confirmed: report.confirmed, cancelled: report.cancelled, open: report.open },
      deadLetters: { total: deadLetters.length, injectedPoison: poisonIds.size },
      invariants: report.invariants,
      violations,
      ok: report.ok && badExits.length === 0,
      refusals: load.refusals,
    };
  } finally {
    processes?.killAll();
    for (const p of proxies.values()) await p.close();
    await nats.stop('SIGKILL').catch(() => undefined);
    await postgres.stop().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function listDeadLetters(natsUrl: string, duplicateWindowMs: number): Promise<DeadLetter[]> {
  const bus = await connectNatsBus({
    servers: natsUrl,
    stream: 'ORDERLY_EVENTS',
    deadLetterStream: 'ORDERLY_DEAD_LETTERS',
    duplicateWindowMs,
    subjects: ['events.>'],
    name: 'orderly-chaos',
  });
  try {
    return await bus.listDeadLetters();
  } finally {
    await bus.close();
  }
}

async function createCatalog(
  gatewayUrl: string,
  admin: { email: string; password: string },
  stock: { plenty: number; scarce: number },
): Promise<Record<string, number>> {
  const login = await fetch(`${gatewayUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  const { accessToken } = (await login.json()) as { accessToken?: string };
  if (!accessToken) throw new Error(`admin login answered ${login.status}`);
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`${path} answered ${response.status} ${await response.text()}`);
  };
  const stockBySku: Record<string, number> = {};
  for (const [kind, product] of Object.entries(catalog)) {
    const quantity = stock[kind as keyof typeof stock];
    await post('/v1/admin/products', { sku: product.sku, name: product.name, priceCents: product.priceCents });
    await post('/v1/admin/stock', { sku: product.sku, delta: quantity });
    stockBySku[product.sku] = quantity;
  }
  return stockBySku;
}

/** The shipped flags with latency and an error rate turned on for one service only. */
function slowFlags(base: { flags: Record<string, Record<string, unknown>> }, service: Service, latencyMs: number, errorRatePercent: number) {
  const targeted = (value: number) => ({
    state: 'ENABLED',
    variants: { off: 0, chaos: value },
    defaultVariant: 'off',
    targeting: { if: [{ '==': [{ var: 'service' }, service] }, 'chaos', 'off'] },
  });
  return { ...base, flags: { ...base.flags, 'fault-latency-ms': targeted(latencyMs), 'fault-error-rate': targeted(errorRatePercent) } };
}
