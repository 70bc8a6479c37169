import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleBudgetProblems, coldStartProblems, readBudgets } from '@orderly/build/budgets';
import { dockerfileCopySources } from '@orderly/build/dockerfile';
import { checkInvariants } from '../e2e/invariants.js';
import { createCatalogAsAdmin, placeOrderMix } from '../e2e/order-mix.js';
import { DistributedSystem, freePort, services, type Service } from '../e2e/system-harness.js';
import {
  binaryFolders,
  buildArtifacts,
  distDir,
  median,
  repoRoot,
  startToReadyMs,
  type BuildInfoFile,
} from './binaries.js';

/**
 * The shipped artifacts, built from scratch as `npm run build:binaries` does: every service as a
 * single-file binary running from an empty folder, the whole order flow across them (with two
 * replicas of the consumer services sharing their durable consumers), and the build budgets.
 */
let build: BuildInfoFile;
let binaries: ReturnType<typeof binaryFolders>;
let system: DistributedSystem;
let stockAtStart: Record<string, number>;

beforeAll(async () => {
  build = await buildArtifacts('binaries');
  binaries = binaryFolders(build.binaries);
  system = await DistributedSystem.start({}, { launch: binaries.launch });
  stockAtStart = await createCatalogAsAdmin(system.url('gateway'));
}, 300_000);

afterAll(async () => {
  try {
    await system?.stop();
    // Fails when a binary wrote a stdout line that breaks the log schema.
    await system?.cleanup();
  } finally {
    binaries?.cleanup();
  }
});

const headCommit = () =>
  spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();

describe('single-file binaries', () => {
  test('when each binary runs from an empty folder with only a config file, then /healthz names the build it came from', async () => {
    for (const service of services) {
      const response = await fetch(`${system.url(service)}/healthz`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { details: { build: Record<string, string> } };
      expect(body.details.build).toEqual({
        version: build.version,
        commit: headCommit(),
        builtAt: build.builtAt,
        source: 'build',
      });
    }
    expect(Object.keys(build.images).sort()).toEqual([...services].sort());
    for (const [service, tag] of Object.entries(build.images)) {
      expect(tag).toMatch(
        new RegExp(
          `^${service}:${build.version.replaceAll('.', '\\.')}-\\d{8}-\\d{4}-${headCommit().slice(0, 7)}$`,
        ),
      );
    }
  });

  test('when two replicas of inventory and notification share their durable consumers, then orders are split between them and each is applied once', async () => {
    const secondInventory = await system.startReplica('inventory');
    await system.startReplica('notification');
    const { accepted, rejected } = await placeOrderMix(system.url('gateway'), 200, 20);
    expect(rejected, system.output.tail()).toEqual([]);
    const outcome = await checkInvariants(system, accepted, stockAtStart);
    expect(outcome.confirmed).toBeGreaterThan(0);
    expect(outcome.cancelled.PAYMENT_DECLINED).toBeGreaterThan(0);
    // Both processes took OrderPlaced deliveries from the one durable consumer: the work is shared.
    // Scraped on the operator ports: the RPC ports serve no /metrics.
    const first = await processedDeliveries(
      system.operatorUrl('inventory'),
      'inventory.reserve-stock',
    );
    const secondOperatorUrl =
      system.replicas.find((r) => r.url === secondInventory)?.operatorUrl ?? '';
    const second = await processedDeliveries(secondOperatorUrl, 'inventory.reserve-stock');
    expect(first, 'deliveries processed by the first inventory process').toBeGreaterThan(0);
    expect(second, 'deliveries processed by the second inventory process').toBeGreaterThan(0);
    expect(first + second).toBeGreaterThanOrEqual(accepted.length);
  });

  test('when a binary starts cold, then its time to ready over a node -e server in the same run stays within its budget', async () => {
    const budgets = readBudgets();
    const ratios: Record<string, number> = {};
    const baselines: number[] = [];
    for (const service of services) {
      // Interleaved with its own baselines, so whatever else loads the machine weighs on both.
      const baseline = median(await repeat(3, () => nodeBaselineMs()));
      baselines.push(baseline);
      ratios[service] = median(await repeat(3, () => binaryColdStartMs(service))) / baseline;
    }
    const shown = Object.fromEntries(
      Object.entries(ratios).map(([s, r]) => [s, Number(r.toFixed(1))]),
    );
    process.stdout.write(
      `cold start to ready / node -e baseline (${median(baselines).toFixed(0)} ms): ${JSON.stringify(shown)}\n`,
    );
    expect(coldStartProblems(budgets, ratios)).toEqual([]);
  }, 120_000);

  test('when the services are bundled, then every bundle stays within its recorded size budget', () => {
    const sizes = Object.fromEntries(
      Object.entries(build.bundles).map(([service, b]) => [service, b.bytes]),
    );
    expect(Object.keys(sizes).sort()).toEqual([...services].sort());
    expect(bundleBudgetProblems(readBudgets(), sizes)).toEqual([]);
  });

  test('when the image is built after npm run build:binaries, then every file the Dockerfile copies from the context exists', () => {
    const sources = dockerfileCopySources(
      readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8'),
      { service: 'order' },
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources)
      expect(() => readFileSync(join(repoRoot, source)), source).not.toThrow();
    expect(sources.some((s) => join(repoRoot, s) === join(distDir, 'bin/order'))).toBe(true);
  });

  test('when the binaries and their replicas get SIGTERM, then they all stop gracefully with exit code 0', async () => {
    const codes = await system.stop();
    expect(
      Object.values(codes).every((code) => code === 0),
      JSON.stringify(codes),
    ).toBe(true);
    expect(Object.keys(codes)).toHaveLength(services.length + 2);
  });
});

async function repeat(times: number, run: () => Promise<number>): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < times; i++) results.push(await run());
  return results;
}

/** A process of the same binary on a port of its own, against the running system's databases and bus. */
async function binaryColdStartMs(service: Service): Promise<number> {
  const port = await freePort();
  const env = {
    ...system.env(),
    [`ORDERLY_SERVICES__${service.toUpperCase()}__PORT`]: String(port),
    [`ORDERLY_SERVICES__${service.toUpperCase()}__OPERATOR_PORT`]: '0',
  };
  return startToReadyMs(binaries.launch(service, env), `http://127.0.0.1:${port}/readyz`);
}

async function nodeBaselineMs(): Promise<number> {
  const port = await freePort();
  const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
  return startToReadyMs(
    { command: process.execPath, args: ['-e', server], cwd: repoRoot, env: {} },
    `http://127.0.0.1:${port}/`,
  );
}

/** Deliveries a process finished for `subscription`, from its Prometheus scrape. */
async function processedDeliveries(url: string, subscription: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('messaging_process_duration_count{') &&
      line.includes(`messaging_consumer_group_name="${subscription}"`)
    ) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
