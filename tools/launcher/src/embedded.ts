import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ConfigSource,
  MemoryBus,
  createLogger,
  loadConfigDocument,
  openFlags,
  parseConfigSection,
  platformConfigSchema,
  deepMerge,
  PostgresUserAccessError,
  type ConfigDocument,
  type PlatformConfig,
} from '@orderly/platform';
import { defineCommand, parseCommand, processIo, toolVersion } from '@orderly/cli/command-line';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { buildAllServices, startAll, stopAll, validateAllServices } from '@orderly/system';

/**
 * `npm start`: the whole system in one process. Embedded PostgreSQL (data under dataDir), the
 * in-memory bus, every service on its own port, a demo catalog. Killing the process at any moment
 * loses nothing: events stay in the outboxes until every consumer has committed them.
 */
const embeddedCommand = defineCommand({
  name: 'npm start',
  summary:
    'runs the whole system in one process: embedded PostgreSQL, the in-memory bus, every service on its own port.',
  synopsis: '--',
  options: {},
  configLayers: true,
  notes:
    'Configuration: defaults < config/embedded.yaml < --config file < ORDERLY_* variables < settings.\nStop with Ctrl-C (SIGINT) or SIGTERM.',
  examples: ['npm start -- --config my-embedded.yaml --logLevel=debug'],
  version: toolVersion(new URL('../package.json', import.meta.url)),
});
const args = parseCommand(embeddedCommand, process.argv.slice(2), processIo);
if ('exitCode' in args) process.exit(args.exitCode);
const argv = args.configArgv;
const embeddedConfig = fileURLToPath(new URL('../../../config/embedded.yaml', import.meta.url));

/**
 * Every layer, read again at each reload: defaults < config/embedded.yaml < `--config` file <
 * ORDERLY_* environment < command line, then what this launcher decides (the embedded PostgreSQL
 * address and the absolute data directory).
 */
let launcherLayer: Record<string, unknown> | undefined = undefined;
function loadDocument(): ConfigDocument {
  const document = loadConfigDocument({ argv, env: process.env, profileFiles: [embeddedConfig] });
  if (!launcherLayer) return document;
  return {
    ...document,
    document: deepMerge(document.document, launcherLayer),
    layers: [
      ...(document.layers ?? []),
      { source: 'override', origin: 'embedded launcher', document: launcherLayer },
    ],
  };
}
const platform = parseConfigSection(platformConfigSchema, loadDocument().document);
const log = createLogger({
  service: 'launcher',
  level: platform.logLevel,
  environment: platform.environment,
});

const dataDir = resolve(platform.dataDir);
mkdirSync(dataDir, { recursive: true });
const postgres = await startEmbeddedPostgres(
  {
    dataDir,
    port: platform.embedded.postgresPort,
    user: platform.embedded.postgresUser,
    password: platform.embedded.postgresPassword,
    stopWaitMs: platform.shutdown.graceMs,
  },
  log,
).catch((error: unknown) => {
  if (!(error instanceof PostgresUserAccessError)) throw error;
  // Nothing to debug here: one line that says what to do, no stack trace.
  log.fatal({ blockedFolder: error.blockedFolder }, error.message);
  process.exit(1);
});
// In one process the gateway calls the identity and risk services beside it, on whatever ports
// they were given.
const addresses = loadDocument().document.services as Record<
  string,
  { host?: unknown; port?: unknown } | undefined
>;
const urlOf = (service: string) =>
  `http://${String(addresses[service]?.host)}:${String(addresses[service]?.port)}`;
launcherLayer = {
  postgres: { url: postgres.url },
  dataDir,
  services: {
    gateway: {
      identityServiceUrl: urlOf('identity'),
      riskServiceUrl: urlOf('risk'),
    },
  },
};
// One watched source for every service: a changed file is validated against every schema first, so
// it is applied by all services or by none.
const source = new ConfigSource({ load: loadDocument, validate: validateAllServices, log });
let platformOf: { document: ConfigDocument; platform: PlatformConfig } | undefined;
const currentPlatform = (): PlatformConfig => {
  if (platformOf?.document !== source.document) {
    platformOf = {
      document: source.document,
      platform: parseConfigSection(platformConfigSchema, source.document.document),
    };
  }
  return platformOf.platform;
};
if (platform.configReload.watch) {
  source.watch(() => ({
    debounceMs: currentPlatform().configReload.debounceMs,
    pollIntervalMs: currentPlatform().configReload.pollIntervalMs,
  }));
}
const flags = await openFlags({
  file: platform.flags.file,
  context: () => currentPlatform().flags.context,
  retryIntervalMs: () => currentPlatform().flags.retryIntervalMs,
  log,
});
const bus = new MemoryBus({ deadLetterFile: resolve(dataDir, 'dead-letters.jsonl') });
const runtimes = await buildAllServices(source.document, { bus, source, flags });
const urls = await startAll(runtimes);

// To stderr: stdout carries log lines only (one JSON object each, platform/src/log/log-line.schema.json),
// so `npm start > orderly.log` is a clean log file.
process.stderr.write(
  `\nOrderly is running (embedded mode, data in ${dataDir}).\n` +
    `  gateway: ${urls.get('gateway')}   try: curl ${urls.get('gateway')}/v1/products\n` +
    `  OpenAPI: ${urls.get('gateway')}/openapi.json\n` +
    `  config:  ${source.watchedFiles.join(', ')} (reloadable keys apply on save)\n` +
    `  flags:   ${resolve(platform.flags.file)} (applied within ~5 s of a save; see docs/flags.md)\n  Stop with Ctrl-C.\n\n`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  const forced = setTimeout(() => process.exit(1), platform.shutdown.graceMs);
  forced.unref();
  try {
    await stopAll(runtimes);
    source.close();
    await flags.close();
    await bus.close();
    await postgres.stop();
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, 'stop failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
