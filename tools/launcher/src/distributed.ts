import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';
import { defineCommand, parseCommand, processIo, toolVersion } from '@orderly/cli/command-line';
import { dependenciesOf, preflight } from './preflight.js';
import { serviceNames } from '@orderly/system';

/**
 * `npm run start:distributed`: one process per service (as in production), against PostgreSQL and
 * NATS JetStream from configuration. Passes its configuration arguments (`--config config/dev.yaml`,
 * settings) to each service, prefixes nothing (each line is already JSON with service.name), and
 * forwards SIGINT/SIGTERM.
 */
const distributedCommand = defineCommand({
  name: 'npm run start:distributed',
  summary:
    'runs one process per service against the PostgreSQL and NATS JetStream of the configuration.',
  synopsis: '--',
  options: {},
  configLayers: true,
  notes:
    'The script passes --config config/dev.yaml; a --config given after -- replaces it. Every service\ngets the configuration arguments. Checks that PostgreSQL and NATS answer before starting any.',
  examples: ['npm run start:distributed -- --config config/prod.yaml --logLevel=debug'],
  version: toolVersion(new URL('../package.json', import.meta.url)),
});
const args = parseCommand(distributedCommand, process.argv.slice(2), processIo);
if ('exitCode' in args) process.exit(args.exitCode);
const argv = args.configArgv;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const platform = parseConfigSection(platformConfigSchema, loadConfigDocument({ argv }).document);
const log = createLogger({
  service: 'launcher',
  level: platform.logLevel,
  environment: platform.environment,
});

// Check PostgreSQL and NATS first: six services failing to connect say less than one line naming what to start.
const missing = await preflight(dependenciesOf(platform));
if (missing !== undefined) {
  process.stderr.write(`${missing}\n`);
  process.exit(1);
}

const children = new Map<string, ChildProcess>();
let stopping = false;

for (const name of serviceNames) {
  // node with tsx's loader (no wrapper process), so signals reach the service itself.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `services/${name}/src/main.ts`, ...argv],
    { cwd: root, stdio: 'inherit' },
  );
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) log.error({ service: name, code, signal }, 'service exited unexpectedly');
    if (children.size === 0) process.exit(stopping ? 0 : 1);
  });
}
log.info({ services: serviceNames }, 'distributed mode started');

function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
