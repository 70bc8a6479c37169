/**
 * What scoring an order with the risk rule plugins costs (issue 18): the shipped rule set
 * (services/risk/plugins/basic-rules) called in this thread with no sandbox (the rule's own cost),
 * then through the engine (a worker thread per version: encode, post, copy into plugin memory, score,
 * post back, decode) one order per call and in batches, with a shadow candidate, and what replacing
 * a worker after a trap costs. CPU is the process's (every thread) user + system time from
 * process.cpuUsage(), divided by the orders scored. Not a test: it prints a Markdown table.
 *
 *   npm run bench:risk -- [--orders 20000]
 */
import { cpuUsage } from 'node:process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@orderly/platform';
import { encodeFeatures, encodeSettings } from '../services/risk/src/plugins/abi.js';
import {
  createRiskEngine,
  type RiskEngine,
  type RiskFeatures,
  type Rollout,
} from '../services/risk/src/plugins/risk-engine.js';
import { fixtureGolden } from '../services/risk/src/plugins/test/plugin-test-kit.js';
import { shippedPluginsDir } from '../services/risk/src/plugins/shipped-plugins.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
};
const orders = Number(option('orders', '20000'));
// Errors only: the trap row makes the engine warn once per order.
const log = createLogger({ service: 'risk', level: 'error' });
const settings = { denyList: ['customer-denied'], thresholds: {} };

function features(i: number): RiskFeatures {
  return {
    orderId: `bench-order-${i}`,
    customerId: `customer-${i % 500}`,
    amountMinor: BigInt(1_000 + (i % 300_000)),
    currency: 'EUR',
    lines: [
      { sku: 'SKU-1', quantity: 1 + (i % 3), unitPriceMinor: 1_000n },
      { sku: 'SKU-2', quantity: 1, unitPriceMinor: 2_500n },
    ],
    customerOrderCount: i % 7,
    customerAmountMinor: BigInt((i % 7) * 5_000),
    windowSeconds: 3_600,
    accountAgeSeconds: i % 11 === 0 ? 600 : 90 * 86_400,
    previousDeclines: i % 13 === 0 ? 3 : 0,
  };
}

interface Row {
  readonly what: string;
  readonly calls: number;
  readonly scored: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function measure(
  what: string,
  calls: number,
  work: (call: number) => Promise<number> | number,
): Promise<Row> {
  const cpu = cpuUsage();
  const started = performance.now();
  let scored = 0;
  for (let call = 0; call < calls; call++) scored += await work(call);
  const wallMs = performance.now() - started;
  const used = cpuUsage(cpu);
  return { what, calls, scored, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** The rule set in this thread, no worker: instantiate, configure, and score like the worker does. */
function inThread(): (f: Uint8Array) => bigint {
  const wasm = readFileSync(join(shippedPluginsDir, 'basic-rules/1.0.0/plugin.wasm'));
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new api.Instance(new api.Module(wasm), {
    env: { abort: () => undefined },
  });
  const x = instance.exports;
  const write = (bytes: Uint8Array) => {
    const ptr = x.orderly_alloc(bytes.length) >>> 0;
    new Uint8Array(x.memory.buffer).set(bytes, ptr);
    return ptr;
  };
  const config = encodeSettings(settings);
  x.orderly_configure(write(config), config.length);
  return (bytes) => x.orderly_assess(write(bytes), bytes.length);
}

interface PluginExports {
  memory: { buffer: ArrayBuffer };
  orderly_alloc(size: number): number;
  orderly_configure(ptr: number, length: number): number;
  orderly_assess(ptr: number, length: number): bigint;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: PluginExports };
}

async function engineWith(dir: string, rollout: Rollout): Promise<RiskEngine> {
  return createRiskEngine({
    pluginsDir: dir,
    settings,
    rollout: () => rollout,
    limits: { callTimeoutMs: 1_000 },
    pollIntervalMs: 0,
    log,
  });
}

const all = Array.from({ length: orders }, (_, i) => features(i));
const rows: Row[] = [];

const score = inThread();
rows.push(
  await measure('rule set in this thread, no worker (encode + score)', orders, (i) => {
    score(encodeFeatures(all[i] ?? features(i)));
    return 1;
  }),
);

const engine = await engineWith(shippedPluginsDir, { candidatePercent: 0, mode: 'shadow' });
await engine.assess(all.slice(0, 100)); // warm the worker's code
const singles = Math.min(orders, 5_000);
rows.push(
  await measure('engine, 1 order per call (worker round trip each)', singles, async (i) => {
    await engine.assess([all[i] ?? features(i)]);
    return 1;
  }),
);
for (const size of [10, 50, 200]) {
  rows.push(
    await measure(`engine, batches of ${size}`, Math.floor(orders / size), async (call) => {
      await engine.assess(all.slice(call * size, (call + 1) * size));
      return size;
    }),
  );
}
await engine.close();

// A candidate in shadow mode for every order: two workers score each order.
const twoVersions = mkdtempSync(join(tmpdir(), 'orderly-bench-risk-'));
cpSync(join(shippedPluginsDir, 'basic-rules/1.0.0'), join(twoVersions, 'basic-rules/1.0.0'), {
  recursive: true,
});
cpSync(join(shippedPluginsDir, 'basic-rules/1.0.0'), join(twoVersions, 'basic-rules/1.1.0'), {
  recursive: true,
});
const shadowed = await engineWith(twoVersions, { candidatePercent: 100, mode: 'shadow' });
await shadowed.assess(all.slice(0, 100));
rows.push(
  await measure(
    'engine, batches of 50, candidate shadowing 100 %',
    Math.floor(orders / 50),
    async (call) => {
      await shadowed.assess(all.slice(call * 50, (call + 1) * 50));
      return 50;
    },
  ),
);
await shadowed.close();

// A worker replaced after each trap: the cost of one fault (terminate, spawn, instantiate, configure).
const trapping = mkdtempSync(join(tmpdir(), 'orderly-bench-risk-'));
mkdirSync(join(trapping, 'basic-rules/1.0.0'), { recursive: true });
cpSync(
  join(shippedPluginsDir, 'fixtures/trapping.wasm'),
  join(trapping, 'basic-rules/1.0.0/plugin.wasm'),
);
writeFileSync(join(trapping, 'basic-rules/1.0.0/golden.json'), fixtureGolden());
const faulty = await createRiskEngine({
  pluginsDir: trapping,
  settings,
  rollout: () => ({ candidatePercent: 0, mode: 'shadow' }),
  limits: { callTimeoutMs: 1_000 },
  breaker: { failureThreshold: 1_000_000 },
  pollIntervalMs: 0,
  log,
});
const traps = 50;
rows.push(
  await measure(
    'engine, a trapping order per call (worker replaced each time)',
    traps,
    async (i) => {
      const [outcome] = await faulty.assess([{ ...features(i), amountMinor: 13n }]);
      if (outcome?.enforced.kind !== 'failed') throw new Error('the trapping fixture did not trap');
      return 1;
    },
  ),
);
await faulty.close();
rmSync(twoVersions, { recursive: true, force: true });
rmSync(trapping, { recursive: true, force: true });

const fmt = (n: number, digits = 1) => n.toFixed(digits);
process.stdout.write(
  `| what | calls | orders | wall µs/order | CPU µs/order | wall µs/call |\n| --- | --- | --- | --- | --- | --- |\n`,
);
for (const row of rows) {
  process.stdout.write(
    `| ${row.what} | ${row.calls} | ${row.scored} | ${fmt((row.wallMs * 1000) / row.scored)} | ${fmt((row.cpuMs * 1000) / row.scored)} | ${fmt((row.wallMs * 1000) / row.calls)} |\n`,
  );
}
