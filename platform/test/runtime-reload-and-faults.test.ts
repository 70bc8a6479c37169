import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { SampleHappenedSchema } from './sample-event.js';
import {
  ConfigSource,
  LiveConfig,
  createLogger,
  loadConfigDocument,
  newEvent,
  parseServiceConfig,
  ServiceRuntime,
  type Logger,
} from '../src/index.js';
import { on } from '../src/inbox/index.js';
import { dropTestDatabase, eventually, uniqueName } from '../src/testing/index.js';

/**
 * A running service follows its configuration file (log level, readiness details) and the fault
 * injection flags, through its public surface: HTTP, /readyz, the outbox and the bus.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dir = mkdtempSync(join(tmpdir(), 'orderly-runtime-faults-'));
const migrations = join(dir, 'migrations');
mkdirSync(migrations);
writeFileSync(
  join(migrations, '0001_effects.sql'),
  'CREATE TABLE effects (event_id text PRIMARY KEY, order_id text NOT NULL);',
);
const schema = z.strictObject({ port: z.coerce.number() });
const stoppers: (() => Promise<void> | void)[] = [];
const databases: string[] = [];

afterAll(async () => {
  for (const stop of stoppers.reverse()) await stop();
  for (const database of databases) await dropTestDatabase(serverUrl, database);
  rmSync(dir, { recursive: true, force: true });
});

/** A flags file with the named number/boolean flags set; every other flag is absent (defaults). */
function writeFlags(file: string, values: Record<string, number | boolean>): void {
  const flags = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key,
      { state: 'ENABLED', variants: { current: value }, defaultVariant: 'current' },
    ]),
  );
  writeFileSync(
    file,
    JSON.stringify({ $schema: 'https://flagd.dev/schema/v0/flags.json', flags }, null, 2),
  );
}

let counter = 0;
/** The file source takes its first stat asynchronously; an edit in the same instant could be missed. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

async function startRuntime(options: {
  flags: Record<string, number | boolean>;
  configYaml?: string;
  withDatabase?: boolean;
  log?: Logger;
}) {
  const n = ++counter;
  const flagsFile = join(dir, `flags-${n}.json`);
  writeFlags(flagsFile, options.flags);
  const configFile = join(dir, `config-${n}.yaml`);
  writeFileSync(configFile, options.configYaml ?? 'logLevel: silent\n');
  const env: Record<string, string> = {};
  if (process.env.ORDERLY_TEST_POSTGRES_URL)
    env.ORDERLY_POSTGRES__URL = process.env.ORDERLY_TEST_POSTGRES_URL;
  const source = new ConfigSource({
    load: () =>
      loadConfigDocument({
        argv: ['--config', configFile],
        env,
        overrides: {
          flags: { file: flagsFile },
          configReload: { debounceMs: 20, pollIntervalMs: 100 },
          bus: { kind: 'memory', retryBackoffMs: [20] },
          outbox: { retryBaseMs: 50, retryMaxMs: 200 },
          services: { probe: { port: 0 } },
        },
      }),
    validate: (document) => void parseServiceConfig(document, 'probe', schema),
  });
  const live = LiveConfig.follow(source, 'probe', schema);
  source.watch(() => ({ debounceMs: 20, pollIntervalMs: 100 }));
  const database = options.withDatabase ? uniqueName('orderly_test_runtime_faults') : undefined;
  if (database) databases.push(database);
  const runtime = await ServiceRuntime.create({
    name: 'probe',
    platform: live.platform,
    http: { host: '127.0.0.1', port: 0, operatorPort: 0 },
    usesBus: Boolean(database),
    ...(database ? { database: { name: database, migrationsPath: migrations } } : {}),
    config: live,
    ...(options.log ? { log: options.log } : {}),
  });
  stoppers.push(async () => {
    await runtime.stop();
    source.close();
  });
  return { runtime, flagsFile, configFile, live };
}

async function readiness(url: string) {
  const response = await fetch(`${url}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as {
      checks: Record<string, string>;
      details: Record<string, unknown>;
    },
  };
}

describe('configuration reload in a running service', () => {
  test('when logLevel changes in the file, then the logger follows and the change is logged once with its hash', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const log = createLogger({ service: 'probe', level: 'info', destination });
    const { runtime, configFile, live } = await startRuntime({
      flags: {},
      configYaml: 'logLevel: info\n',
      log,
    });
    const { url } = await runtime.start();
    runtime.log.debug('before the change');

    writeFileSync(configFile, 'logLevel: debug\n');
    await eventually(() => expect(runtime.log.level).toBe('debug'));
    runtime.log.debug('after the change');

    const messages = lines.map((l) => l.msg);
    expect(messages).not.toContain('before the change');
    expect(messages).toContain('after the change');
    const audit = lines.filter((l) => l.msg === 'configuration change applied');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ changed: ['logLevel'], configHash: live.hash });
    expect((await readiness(url)).body.details).toMatchObject({
      config: 'ok',
      configHash: live.hash,
    });
    // The versions in effect are metrics too, so replicas can be compared.
    const metrics = await (await fetch(`${runtime.operatorUrl ?? ''}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`orderly_config_info\\{[^}]*orderly_config_hash="${live.hash}"`),
    );
    expect(metrics).toMatch(
      /orderly_config_reloads_total\{[^}]*orderly_config_outcome="applied"[^}]*\} 1/,
    );
  });

  test('when the new file is invalid or changes a fixed key, then /readyz details say so and the service stays ready', async () => {
    const { runtime, configFile } = await startRuntime({
      flags: {},
      configYaml: 'logLevel: silent\n',
    });
    const { url } = await runtime.start();

    writeFileSync(configFile, 'logLevel: loud\n');
    await eventually(async () =>
      expect((await readiness(url)).body.details.config).toMatch(
        /^reload failed: .*logLevel: value "loud" is invalid/s,
      ),
    );
    expect((await readiness(url)).status).toBe(200);
    expect(runtime.log.level).toBe('silent');

    writeFileSync(configFile, 'logLevel: silent\npostgres:\n  poolSize: 3\n');
    await eventually(async () =>
      expect((await readiness(url)).body.details.config).toBe(
        'restart required for: postgres.poolSize',
      ),
    );
    expect(runtime.config.postgres.poolSize).not.toBe(3);
    expect((await readiness(url)).body.details.restartRequired).toEqual(['postgres.poolSize']);
  });
});

describe.concurrent('fault injection flags', () => {
  test('when fault-error-rate is 100, then every HTTP request fails with 503 FAULT_INJECTED; at 0 they succeed again', async () => {
    const { runtime, flagsFile } = await startRuntime({ flags: { 'fault-error-rate': 100 } });
    runtime.serveHttp((_req, res) => res.end('served'));
    const { url } = await runtime.start();

    const failed = await fetch(`${url}/anything`);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: { code: 'FAULT_INJECTED' } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200); // health endpoints are never faulted

    await settle();
    writeFlags(flagsFile, { 'fault-error-rate': 0 });
    await eventually(
      async () => expect(await (await fetch(`${url}/anything`)).text()).toBe('served'),
      { timeoutMs: 20_000 },
    );
  });

  test('when fault-latency-ms is set, then requests are held back that long; at 0 the delay is gone', async () => {
    const { runtime, flagsFile } = await startRuntime({ flags: { 'fault-latency-ms': 10_000 } });
    runtime.serveHttp((_req, res) => res.end('served'));
    const { url } = await runtime.start();

    // A request that would wait 10 s is cut short by the client after 1 s: the delay is really there.
    const slow = await fetch(`${url}/anything`, { signal: AbortSignal.timeout(1000) }).then(
      () => 'answered',
      () => 'still waiting',
    );
    expect(slow).toBe('still waiting');

    await settle();
    writeFlags(flagsFile, { 'fault-latency-ms': 0 });
    await eventually(
      async () =>
        expect(
          await (await fetch(`${url}/anything`, { signal: AbortSignal.timeout(1000) })).text(),
        ).toBe('served'),
      { timeoutMs: 20_000 },
    );
  });

  test('when fault-readiness-fail is on, then /readyz answers 503 naming the flag; off, ready again', async () => {
    const { runtime, flagsFile } = await startRuntime({ flags: { 'fault-readiness-fail': true } });
    const { url } = await runtime.start();

    const failing = await readiness(url);
    expect(failing.status).toBe(503);
    expect(failing.body.checks.faults).toMatch(/fault-readiness-fail/);

    await settle();
    writeFlags(flagsFile, { 'fault-readiness-fail': false });
    await eventually(async () => expect((await readiness(url)).status).toBe(200), {
      timeoutMs: 20_000,
    });
  });

  test('when fault-publish-drop-rate is 100, then the outbox keeps the event and retries; at 0 it is delivered exactly once', async () => {
    const { runtime, flagsFile } = await startRuntime({
      flags: { 'fault-publish-drop-rate': 100 },
      withDatabase: true,
    });
    runtime.consume('probe.effects', [
      on(SampleHappenedSchema, async (tx, event, context) => {
        await tx.query('INSERT INTO effects (event_id, order_id) VALUES ($1, $2)', [
          context.eventId,
          event.subjectId,
        ]);
      }),
    ]);
    await runtime.start();
    await runtime.db.transaction((tx) =>
      runtime.outbox.add(tx, SampleHappenedSchema, { subjectId: 'dropped-order' }),
    );

    await eventually(async () => {
      const { rows } = await runtime.db.query<{
        attempts: number;
        last_error: string;
        published_at: Date | null;
      }>('SELECT attempts, last_error, published_at FROM outbox');
      expect(rows[0]?.attempts).toBeGreaterThanOrEqual(2);
      expect(rows[0]?.last_error).toMatch(/dropped/);
      expect(rows[0]?.published_at).toBeNull();
    });
    expect((await runtime.db.query('SELECT 1 FROM effects')).rowCount).toBe(0);

    writeFlags(flagsFile, { 'fault-publish-drop-rate': 0 });
    await eventually(
      async () =>
        expect((await runtime.db.query('SELECT order_id FROM effects')).rows).toEqual([
          { order_id: 'dropped-order' },
        ]),
      { timeoutMs: 20_000 },
    );
    await eventually(async () =>
      expect(
        (await runtime.db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rowCount,
      ).toBe(0),
    );
  });

  test('when fault-consumer-delay-ms is set, then deliveries wait before being handled; at 0 new ones are handled at once', async () => {
    const { runtime, flagsFile } = await startRuntime({
      flags: { 'fault-consumer-delay-ms': 20_000 },
      withDatabase: true,
    });
    runtime.consume('probe.effects', [
      on(SampleHappenedSchema, async (tx, event, context) => {
        await tx.query('INSERT INTO effects (event_id, order_id) VALUES ($1, $2)', [
          context.eventId,
          event.subjectId,
        ]);
      }),
    ]);
    await runtime.start();
    const applied = async () =>
      (
        await runtime.db.query<{ order_id: string }>(
          'SELECT order_id FROM effects ORDER BY order_id',
        )
      ).rows.map((r) => r.order_id);
    const publish = (orderId: string) =>
      runtime.db.transaction((tx) =>
        runtime.outbox.add(tx, SampleHappenedSchema, { subjectId: orderId }),
      );

    await publish('slow-order');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await applied()).toEqual([]);

    const changed = new Promise((resolve) => runtime.flags.onChange(resolve));
    writeFlags(flagsFile, { 'fault-consumer-delay-ms': 0 });
    await changed;
    // The in-memory bus holds the relay until the slow delivery settles, so publish beside it.
    await runtime.bus.publish([
      newEvent(SampleHappenedSchema, { subjectId: 'fast-order' }, new Date()).bus,
    ]);
    await eventually(async () => expect(await applied()).toContain('fast-order'), {
      timeoutMs: 5_000,
    });
    expect(await applied()).not.toContain('slow-order');
    await eventually(async () => expect(await applied()).toContain('slow-order'), {
      timeoutMs: 30_000,
    });
  }, 90_000);
});
