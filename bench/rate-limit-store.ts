/**
 * What sharing the rate-limit buckets costs: one gateway process, its buckets in memory
 * (bus.kind memory, as embedded mode) against in a NATS JetStream key-value bucket (bus.kind nats,
 * as distributed mode), loaded one after the other with `GET /v1/orders` without a token — the
 * request takes its address bucket and is answered 401 at once, so the figures are the rate limit's
 * and the HTTP stack's, nothing behind. Every request comes from one address: the hottest possible
 * key, whose takes the shared store gathers into rounds (docs/architecture.md). Not a test: it
 * prints figures.
 *
 *   npm run bench:rate-limits -- [--duration 10] [--connections 20,100]
 *
 * Reports requests/s, latency p50/p99 (ms), the gateway's CPU time per request (user + system, from
 * /proc) and, for NATS, how many writes the key-value bucket took.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfigDocument } from '@orderly/platform';
import { freePort } from '@orderly/platform/testing';

const repoRoot = new URL('../', import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
};
const durationSeconds = Number(option('duration', '10'));
const connectionCounts = option('connections', '20,100').split(',').map(Number);
const natsServers =
  process.env.ORDERLY_TEST_NATS_URL ??
  (loadConfigDocument({ argv: [], env: process.env }).document as { bus: { natsServers: string } })
    .bus.natsServers;

const ticksPerSecond = 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function measure(kind: 'memory' | 'nats', connections: number): Promise<string> {
  const port = await freePort();
  const nobody = `http://127.0.0.1:${await freePort()}`;
  const bucket = `BENCH_RATE_LIMITS_${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'orderly-bench-rate-limits-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'services/gateway/src/main.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ORDERLY_LOG_LEVEL: 'warn',
        ORDERLY_DATA_DIR: dataDir,
        ORDERLY_TELEMETRY__ENABLED: 'false',
        ORDERLY_BUS__KIND: kind,
        ORDERLY_BUS__NATS_SERVERS: natsServers,
        ORDERLY_SERVICES__GATEWAY__PORT: String(port),
        ORDERLY_SERVICES__GATEWAY__OPERATOR_PORT: String(await freePort()),
        ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__SHARED__BUCKET: bucket,
        // Never reached: every request is allowed and costs one take.
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__BURST: '1000000000',
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__PER_MINUTE: '1000000000',
      },
      stdio: 'ignore',
    },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const alive = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (alive) break;
      if (i > 300) throw new Error(`gateway (${kind}) did not start`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const cpuBefore = cpuSeconds(child.pid!);
    const result = await autocannon({
      url: `${url}/v1/orders`,
      connections,
      duration: durationSeconds,
    });
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    let writes = '';
    if (kind === 'nats') {
      const nc = await connect({ servers: natsServers });
      const jsm = await jetstreamManager(nc);
      const { state } = await jsm.streams.info(`KV_${bucket}`);
      writes = `, ${state.last_seq} key-value writes (${(result.requests.total / state.last_seq).toFixed(1)} requests each)`;
      await jsm.streams.delete(`KV_${bucket}`);
      await nc.close();
    }
    const perRequestUs = (cpu / result.requests.total) * 1e6;
    return (
      `${kind.padEnd(6)} ${String(connections).padStart(4)} connections: ` +
      `${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, ` +
      `p99 ${result.latency.p99} ms, ${perRequestUs.toFixed(0)} µs gateway CPU per request${writes}`
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const connections of connectionCounts)
  for (const kind of ['memory', 'nats'] as const) console.log(await measure(kind, connections));
