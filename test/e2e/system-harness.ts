import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { orderlyClient } from '@orderly/client';
import {
  dropTestDatabase,
  freePort,
  LogLineCollector,
  testWorkloadKeysDir,
} from '@orderly/platform/testing';
import {
  serviceNames,
  servicesWithDatabase,
  type ServiceName,
  type ServiceWithDatabase,
} from '@orderly/system';

/**
 * Runs Orderly as real separate processes for end-to-end tests: one process per service on the
 * machine's PostgreSQL and NATS JetStream (distributed), or the one-process embedded launcher.
 * Every run is isolated: its own databases, ports, streams and subject prefix.
 */
export const postgresUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const repoRoot = new URL('../../', import.meta.url).pathname;
// node itself with tsx's loader (not the tsx wrapper): a kill -9 must hit the service process.
const nodeWithTsx = [process.execPath, '--import', 'tsx'] as const;

/** Every service, in the order they start (the system's one list, @orderly/system). */
export const services = serviceNames;
export type Service = ServiceName;

/** How one service process is started; `env` is the system's environment for it (ports, databases, bus). */
export interface ServiceCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
}
export type ServiceLauncher = (service: Service, env: Record<string, string>) => ServiceCommand;

/** The default: node with tsx's loader on the service's src/main.ts, in the repository. */
export const fromSource: ServiceLauncher = (service, env) => ({
  command: nodeWithTsx[0],
  args: [...nodeWithTsx.slice(1), join(repoRoot, `services/${service}/src/main.ts`)],
  cwd: repoRoot,
  env: { ...process.env, ...env },
});

export { freePort };

const envKey = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/**
 * What the processes print: the last lines of stdout and stderr for failure messages, and every
 * stdout line checked against the log schema (platform/src/log/log-line.schema.json). stdout carries
 * log lines only; stderr the process's own messages (signals, start failures), which are not checked.
 */
class ProcessOutput {
  readonly lines: string[] = [];
  readonly logLines = new LogLineCollector();
  attach(child: ChildProcess, label: string) {
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n'))
        if (line) this.lines.push(`[${label}] ${line}`);
      if (this.lines.length > 400) this.lines.splice(0, this.lines.length - 400);
    };
    // One source per process: a restarted service's lines never join a line its killed self left.
    const source = `${label} (pid ${child.pid})`;
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      this.logLines.write(source, chunk);
    });
    child.stderr?.on('data', keep);
    this.closed.push(
      new Promise<void>((resolve) =>
        child.once('close', () => {
          this.logLines.end(source, { cut: child.signalCode === 'SIGKILL' });
          resolve();
        }),
      ),
    );
  }
  private readonly closed: Promise<void>[] = [];
  /** Resolves once every attached process has exited and its output is read to the end. */
  async settled(): Promise<void> {
    await Promise.all(this.closed);
  }
  tail(n = 60): string {
    return this.lines.slice(-n).join('\n');
  }
}

async function waitUntilReady(
  url: string,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${url} not ready after ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export class DistributedSystem {
  readonly output = new ProcessOutput();
  readonly processes = new Map<Service, ChildProcess>();
  /** Each service's operator port (/metrics, /admin/*); set by `start`. */
  readonly operatorPorts = {} as Record<Service, number>;
  /** Extra processes of a service started by `startReplica`, each on its own port. */
  readonly replicas: {
    readonly service: Service;
    readonly url: string;
    readonly operatorUrl: string;
    readonly child: ChildProcess;
  }[] = [];
  private constructor(
    readonly id: string,
    readonly ports: Record<Service, number>,
    readonly databases: Record<ServiceWithDatabase, string>,
    readonly dataDir: string,
    private readonly extraEnv: Record<string, string>,
    private readonly launch: ServiceLauncher,
  ) {}

  /** `options.launch` starts each process some other way than from source (e.g. the built binaries). */
  static async start(
    extraEnv: Record<string, string> = {},
    options: { launch?: ServiceLauncher } = {},
  ): Promise<DistributedSystem> {
    const id = randomBytes(3).toString('hex');
    const ports = {} as Record<Service, number>;
    for (const s of services) ports[s] = await freePort();
    const databases = {} as Record<ServiceWithDatabase, string>;
    for (const s of servicesWithDatabase) databases[s] = `orderly_e2e_${id}_${s}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'orderly-e2e-'));
    const system = new DistributedSystem(
      id,
      ports,
      databases,
      dataDir,
      extraEnv,
      options.launch ?? fromSource,
    );
    for (const s of services) system.operatorPorts[s] = await freePort();
    for (const s of services) system.startService(s);
    try {
      await Promise.all(services.map((s) => system.waitReady(s)));
    } catch (error) {
      // The caller never gets the system, so nobody else would stop these processes.
      for (const child of system.processes.values()) child.kill('SIGKILL');
      await system.cleanup().catch(() => undefined);
      throw error;
    }
    return system;
  }

  url(service: Service): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  /** Where `service` serves /metrics and the admin endpoints (not on `url`). */
  operatorUrl(service: Service): string {
    return `http://127.0.0.1:${this.operatorPorts[service]}`;
  }

  env(): Record<string, string> {
    const env: Record<string, string> = {
      ORDERLY_LOG_LEVEL: process.env.ORDERLY_TEST_LOG_LEVEL ?? 'warn',
      ORDERLY_DATA_DIR: this.dataDir,
      ORDERLY_POSTGRES__URL: postgresUrl,
      ORDERLY_POSTGRES__POOL_SIZE: '5',
      ORDERLY_BUS__KIND: 'nats',
      ORDERLY_BUS__NATS_SERVERS: natsUrl,
      ORDERLY_BUS__STREAM: `E2E_${this.id}`,
      ORDERLY_BUS__DEAD_LETTER_STREAM: `E2E_${this.id}_DL`,
      ORDERLY_BUS__SUBJECT_PREFIX: `e2e${this.id}`,
      ORDERLY_BUS__DEAD_LETTER_SUBJECT_PREFIX: `e2e${this.id}dl`,
      // The gateways' shared rate-limit buckets (JetStream key-value), this run's own.
      ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__SHARED__BUCKET: `E2E_${this.id}_RATE_LIMITS`,
      ORDERLY_BUS__RETRY_BACKOFF_MS: '[50,200,500]',
      ORDERLY_BUS__ACK_WAIT_MS: '5000',
      // Rows handed to a worker that is killed are published by its restart (or a sibling) after this.
      ORDERLY_OUTBOX__HANDOFF_LEASE_MS: '2000',
      ORDERLY_OUTBOX__RETRY_MAX_MS: '1000',
      ORDERLY_SHUTDOWN__GRACE_MS: '10000',
      ORDERLY_SERVICES__INVENTORY__SEED_DEMO_CATALOG: 'false',
      ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: this.url('order'),
      ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: this.url('inventory'),
      ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: this.url('identity'),
      ORDERLY_SERVICES__GATEWAY__RISK_SERVICE_URL: this.url('risk'),
      // The tests' own key folder: their operator/gateway identities (testWorkloadIdentity) are trusted.
      ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR: testWorkloadKeysDir,
      ...e2eSecurityEnv(),
    };
    for (const s of services) env[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(this.ports[s]);
    for (const s of services)
      env[`ORDERLY_SERVICES__${envKey(s)}__OPERATOR_PORT`] = String(this.operatorPorts[s] ?? 0);
    for (const [s, db] of Object.entries(this.databases))
      env[`ORDERLY_SERVICES__${envKey(s)}__DATABASE`] = db;
    return { ...env, ...this.extraEnv };
  }

  startService(service: Service): ChildProcess {
    const child = this.spawnService(service, this.env());
    this.output.attach(child, service);
    this.processes.set(service, child);
    return child;
  }

  private spawnService(service: Service, env: Record<string, string>): ChildProcess {
    const { command, args, cwd, env: processEnv } = this.launch(service, env);
    return spawn(command, [...args], { cwd, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /**
   * One more process of `service` on its own port, sharing everything else (database, durable
   * consumers): how a service scales horizontally. Returns its URL once it is ready.
   */
  async startReplica(service: Service): Promise<string> {
    const port = await freePort();
    const operatorPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = this.spawnService(service, {
      ...this.env(),
      [`ORDERLY_SERVICES__${envKey(service)}__PORT`]: String(port),
      [`ORDERLY_SERVICES__${envKey(service)}__OPERATOR_PORT`]: String(operatorPort),
    });
    this.output.attach(child, `${service}#${this.replicas.length + 2}`);
    this.replicas.push({ service, url, operatorUrl: `http://127.0.0.1:${operatorPort}`, child });
    await waitUntilReady(url, 60_000, () => this.output.tail());
    return url;
  }

  async waitReady(service: Service, timeoutMs = 60_000): Promise<void> {
    await waitUntilReady(this.url(service), timeoutMs, () => this.output.tail());
  }

  /** kill -9: no graceful stop, in-flight work is cut wherever it is. */
  async crash(service: Service): Promise<void> {
    const child = this.processes.get(service);
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  async restart(service: Service): Promise<void> {
    this.startService(service);
    await this.waitReady(service);
  }

  async sql<Row = Record<string, unknown>>(
    service: ServiceWithDatabase,
    text: string,
    values: unknown[] = [],
  ): Promise<Row[]> {
    const url = new URL(postgresUrl);
    url.pathname = `/${this.databases[service]}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  /** SIGTERM every service; returns their exit codes (graceful stop exits 0). */
  async stop(): Promise<Record<string, number | null>> {
    const codes: Record<string, number | null> = {};
    const replicas = this.replicas.map((r, i) => [`${r.service}#${i + 2}`, r.child] as const);
    await Promise.all(
      [...this.processes, ...replicas].map(async ([name, child]) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        codes[name] = await exited(child);
      }),
    );
    return codes;
  }

  /**
   * Drops the run's databases, streams and files; then fails when any service wrote a stdout line
   * that breaks the log schema, so every end-to-end run checks every line its services wrote.
   */
  async cleanup(): Promise<void> {
    for (const db of Object.values(this.databases))
      await dropTestDatabase(postgresUrl, db).catch(() => {});
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    for (const stream of [`E2E_${this.id}`, `E2E_${this.id}_DL`, `KV_E2E_${this.id}_RATE_LIMITS`])
      await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.output.settled();
    const { logLines } = this.output;
    if (logLines.problems.length > 0)
      throw new Error(
        `${logLines.problems.length} log line(s) break platform/src/log/log-line.schema.json:\n${logLines.report()}`,
      );
  }
}

/** The admin the identity service creates at start in every end-to-end run (bootstrap admin). */
export const e2eAdmin = {
  email: 'admin@e2e.orderly.test',
  password: `e2e-admin-${randomBytes(8).toString('hex')}`,
};
const customerPassword = `e2e-customer-${randomBytes(8).toString('hex')}`;

/**
 * Environment for end-to-end runs: the bootstrap admin, a cheap password hash, and rate limits no
 * test traffic from one address reaches (hundreds of orders and dozens of logins from 127.0.0.1).
 */
export function e2eSecurityEnv(): Record<string, string> {
  const generous = { BURST: '1000000', PER_MINUTE: '1000000' };
  const env: Record<string, string> = {
    ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__EMAIL: e2eAdmin.email,
    ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__PASSWORD: e2eAdmin.password,
    // Password hashing is deliberately slow; a test run logs in dozens of customers at once.
    ORDERLY_SERVICES__IDENTITY__PASSWORD__SCRYPT__COST: '1024',
  };
  for (const limit of ['PER_ADDRESS', 'PER_USER', 'LOGIN', 'LOGIN_ACCOUNT'])
    for (const [key, value] of Object.entries(generous))
      env[`ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__${limit}__${key}`] = value;
  return env;
}

/** Logs in through the gateway; returns the access token. */
export async function logIn(
  gatewayUrl: string,
  credentials: { email: string; password: string },
): Promise<string> {
  const { data, error, response } = await orderlyClient({ baseUrl: gatewayUrl }).POST(
    '/v1/auth/login',
    { body: credentials, signal: AbortSignal.timeout(15_000) },
  );
  if (response.status !== 200 || !data) {
    throw new Error(
      `login of ${credentials.email} answered ${response.status} ${JSON.stringify(error)}`,
    );
  }
  return data.accessToken;
}

const tokens = new Map<string, Promise<string>>();

/**
 * An access token for the customer named `customerId` in this run: registered (once) and logged in
 * through the gateway; the order's customer is then the token's subject, never a header.
 */
export function customerToken(gatewayUrl: string, customerId: string): Promise<string> {
  const key = `${gatewayUrl}|${customerId}`;
  let token = tokens.get(key);
  if (!token) {
    const credentials = { email: `${customerId}@e2e.orderly.test`, password: customerPassword };
    token = (async () => {
      const registered = await orderlyClient({ baseUrl: gatewayUrl }).POST('/v1/auth/register', {
        body: credentials,
        signal: AbortSignal.timeout(15_000),
      });
      const { status } = registered.response;
      if (status !== 201 && status !== 409) {
        throw new Error(
          `register of ${customerId} answered ${status} ${JSON.stringify(registered.error)}`,
        );
      }
      return logIn(gatewayUrl, credentials);
    })();
    token.catch(() => tokens.delete(key));
    tokens.set(key, token);
  }
  return token;
}

/** POST /v1/orders through the gateway as `customerId` (Bearer token); returns the order id when it was accepted (202). */
/** Answers that mean "not accepted, try again later": load shedding and intake backpressure. */
const sheddingCodes = new Set(['UPSTREAM_OVERLOADED', 'ORDER_INTAKE_SATURATED']);
const sheddingRetryForMs = 60_000;

export async function placeOrder(
  gatewayUrl: string,
  customerId: string,
  body: { lines: { sku: string; quantity: number }[]; paymentMethod: string },
): Promise<{ status: number; orderId?: string; error?: unknown }> {
  try {
    const token = await customerToken(gatewayUrl, customerId);
    const idempotencyKey = randomBytes(8).toString('hex');
    // Like a real client: an order refused by backpressure (503 with one of these codes, nothing
    // accepted) is sent again with the same key after Retry-After, for a bounded time.
    const giveUpAt = Date.now() + sheddingRetryForMs;
    const api = orderlyClient({ baseUrl: gatewayUrl, token: () => token });
    for (;;) {
      const { data, error, response } = await api.POST('/v1/orders', {
        params: { header: { 'Idempotency-Key': idempotencyKey } },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      const envelope = (error as { error?: { code?: string } } | undefined)?.error;
      const shed = response.status === 503 && sheddingCodes.has(envelope?.code ?? '');
      if (!shed || Date.now() > giveUpAt)
        return { status: response.status, orderId: data?.orderId, error: envelope };
      const retryAfterSeconds = Number(response.headers.get('retry-after') ?? '0.5');
      await new Promise((resolve) => setTimeout(resolve, Math.max(100, retryAfterSeconds * 1000)));
    }
  } catch (error) {
    return { status: 0, error };
  }
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function withConcurrency<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}
