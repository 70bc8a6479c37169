import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusterTopology, type ClusterTopology } from '@orderly/chaos/cluster';
import { loadConfigDocument, parseConfigSection, platformConfigSchema } from '@orderly/platform';
import { defineCommand, parseCommand, processIo, toolVersion } from '@orderly/cli/command-line';
import { serviceNames, type ServiceName } from '@orderly/system';

/**
 * `npm run start:cluster`: the production topology on this machine — three nats-server processes in
 * one JetStream cluster (streams with 3 replicas), two replicas of every service behind one address
 * per service, PostgreSQL as a primary with a synchronous streaming standby behind one address.
 * Ports come from the configuration (config/cluster.yaml): see there. Starts from an empty data
 * folder every time; Ctrl-C stops the services gracefully, then NATS and PostgreSQL, and removes it.
 */
const clusterCommand = defineCommand({
  name: 'npm run start:cluster',
  summary:
    'runs the production topology on this machine: a 3-node NATS JetStream cluster, replicas of every service, PostgreSQL primary + standby.',
  synopsis: '-- [--replicas <n>] [--nats-nodes <n>] [--keep-data]',
  options: {
    replicas: { type: 'string', value: 'n', description: 'processes per service (default 2)' },
    'nats-nodes': {
      type: 'string',
      value: 'n',
      description: 'nats-server processes (default 3; streams get min(3, n) replicas)',
    },
    'keep-data': {
      type: 'boolean',
      description: 'leave the data folder after stopping (it is emptied at the next start anyway)',
    },
  },
  configLayers: true,
  notes:
    'The script passes --config config/cluster.yaml; every service gets the same configuration arguments.\nNeeds nats-server (/usr/sbin/nats-server or on PATH) and PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin).\nStop with Ctrl-C (SIGINT) or SIGTERM.',
  examples: ['npm run start:cluster', 'npm run start:cluster -- --replicas 3'],
  version: toolVersion(new URL('../package.json', import.meta.url)),
});

const args = parseCommand(clusterCommand, process.argv.slice(2), processIo);
if ('exitCode' in args) process.exit(args.exitCode);
const count = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 9) {
    process.stderr.write(`--${name}: ${value} is not a whole number from 1 to 9\n`);
    process.exit(2);
  }
  return n;
};
const replicas = count(args.values.replicas, 2, 'replicas');
const natsNodes = count(args.values['nats-nodes'], 3, 'nats-nodes');
const argv = args.configArgv;
const keepData = args.values['keep-data'] === true;
const root = fileURLToPath(new URL('../../../', import.meta.url));

const document = loadConfigDocument({ argv, env: process.env }).document;
const platform = parseConfigSection(platformConfigSchema, document);
const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);
const natsClientPorts = platform.bus.natsServers.split(',').map((u) => portOf(u.trim(), 4222));
if (natsClientPorts.length < natsNodes) {
  process.stderr.write(
    `bus.natsServers lists ${natsClientPorts.length} server(s); --nats-nodes ${natsNodes} needs as many\n`,
  );
  process.exit(2);
}
const postgresPort = portOf(platform.postgres.url, 5432);
const services = (document.services ?? {}) as Record<string, { port?: number } | undefined>;
const front: Partial<Record<ServiceName, number>> = {};
for (const s of serviceNames) if (services[s]?.port) front[s] = Number(services[s].port);

const dataDir = resolve(root, platform.dataDir);
rmSync(dataDir, { recursive: true, force: true });
const serviceLog = join(dataDir, '..', 'cluster-services.log');
console.log(`starting the cluster topology in ${dataDir} (service output → ${serviceLog})`);

let topology: ClusterTopology | undefined;
let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the services (SIGTERM), then NATS and PostgreSQL`);
  let code = 0;
  if (topology) {
    const codes = await topology.stop();
    const unclean = Object.entries(codes).filter(([, c]) => c !== 0);
    if (unclean.length > 0) {
      console.log(`not stopped cleanly: ${unclean.map(([k, c]) => `${k} ${c}`).join(', ')}`);
      code = 1;
    }
  }
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  console.log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  topology = await startClusterTopology({
    dataDir,
    natsNodes,
    replicas,
    serviceArgs: argv,
    serviceLog,
    ports: {
      nats: natsClientPorts
        .slice(0, natsNodes)
        .map((client) => ({ client, cluster: client + 2000, monitor: client + 4000 })),
      postgresProxy: postgresPort,
      postgres: [postgresPort + 1, postgresPort + 2],
      front,
    },
    log: (line) => console.log(`  ${line}`),
  });
} catch (err) {
  console.error(`the cluster did not start: ${err instanceof Error ? err.message : String(err)}`);
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
}
if (stopping) await new Promise(() => undefined);
const t = topology;
const stream = await t.streamCluster(platform.bus.stream).catch(() => undefined);
console.log(`
Orderly cluster topology is up (${replicas} replicas of each service, ${natsNodes} NATS node(s)):
  public API        ${t.urls.gateway}
${serviceNames.map((s) => `  ${s.padEnd(17)} ${t.urls.services[s]}  → replicas ${t.urls.replicas[s].join(' ')}`).join('\n')}
  NATS              ${t.nats.nodes.map((n) => `${n.name} ${n.url} (monitoring http://127.0.0.1:${n.ports.monitor})`).join('\n                    ')}
  stream ${platform.bus.stream}: ${stream ? `${stream.numReplicas} replicas, leader ${stream.leader ?? '?'}` : 'not created yet'}
  PostgreSQL        ${t.urls.postgres} → primary :${t.postgres.primary.port}, standby :${t.postgres.standby?.port ?? '—'} (synchronous)
Ctrl-C stops everything.`);
