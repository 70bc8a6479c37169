import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  MemoryBus,
  createLogger,
  configFileFromArgs,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  deepMerge,
} from '@orderly/platform';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { buildAllServices, startAll, stopAll } from './services.js';

/**
 * `npm start`: the whole system in one process. Embedded PostgreSQL (data under dataDir), the
 * in-memory bus, every service on its own port, a demo catalog. Killing the process at any moment
 * loses nothing: events stay in the outboxes until every consumer has committed them.
 */
const embeddedConfig = fileURLToPath(new URL('../../../config/embedded.yaml', import.meta.url));
const argv = process.argv.slice(2);
const userFile = configFileFromArgs(argv, process.env);

const base = loadConfigDocument({ argv: ['--config', embeddedConfig], env: {} });
const user = userFile ? loadConfigDocument({ argv: ['--config', userFile], env: {} }).document : {};
const merged = loadConfigDocument({ argv: [], env: process.env, overrides: deepMerge(base.document, user) });
const platform = parseConfigSection(platformConfigSchema, merged.document);
const log = createLogger({ service: 'launcher', level: platform.logLevel, environment: platform.environment });

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
);
const document = { ...merged, document: deepMerge(merged.document, { postgres: { url: postgres.url }, dataDir }) };
const bus = new MemoryBus({ deadLetterFile: resolve(dataDir, 'dead-letters.jsonl') });
const runtimes = await buildAllServices(document, { bus });
const urls = await startAll(runtimes);

process.stdout.write(
  `\nOrderly is running (embedded mode, data in ${dataDir}).\n` +
    `  gateway: ${urls.get('gateway')}   try: curl ${urls.get('gateway')}/v1/products\n` +
    `  OpenAPI: ${urls.get('gateway')}/openapi.json\n  Stop with Ctrl-C.\n\n`,
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
