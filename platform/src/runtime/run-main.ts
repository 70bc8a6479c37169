import {
  ConfigSource,
  LiveConfig,
  loadConfigDocument,
  parseServiceConfig,
} from '../config/index.js';
import { findAppError } from '../errors/index.js';
import { createService, type AnyServiceDefinition } from './define-service.js';
import { abandonStartupWaits, isStartAbandoned } from './startup.js';
import { runsService, superviseWorkers, type WorkerSettings } from './workers.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The whole of every service's `main.ts`: load and validate configuration (a bad value exits 1 with
 * the key, value and rule; `checkDocument` runs with the schema), create and start the service of
 * `definition` with a `LiveConfig` that follows the configuration files (`configReload`), and on
 * SIGTERM/SIGINT stop it gracefully and exit 0.
 * If the graceful stop takes longer than `shutdown.graceMs`, exit 1 rather than hang.
 * With `workers.count.<name>` > 1 this process only supervises that many workers (./workers.ts).
 * Call it without awaiting (`void runServiceMain(definition)`): the bundle for single-file binaries is
 * CommonJS, which has no top-level await, and it reports its own failures and exits non-zero.
 */
export async function runServiceMain(definition: AnyServiceDefinition): Promise<void> {
  let config: LiveConfig<unknown>;
  let source: ConfigSource;
  try {
    const argv = process.argv.slice(2);
    source = new ConfigSource({
      load: () => loadConfigDocument({ argv, env: process.env }),
      validate: (document) => {
        parseServiceConfig(document, definition.name, definition.configSchema);
        definition.checkDocument?.(document);
      },
    });
    config = LiveConfig.follow(source, definition.name, definition.configSchema);
    const reload = () => config.platform.configReload;
    if (reload().watch)
      source.watch(() => ({
        debounceMs: reload().debounceMs,
        pollIntervalMs: reload().pollIntervalMs,
      }));
  } catch (error) {
    process.stderr.write(
      `${definition.name}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
  const workers: WorkerSettings = {
    count: config.platform.workers.count[definition.name] ?? 1,
    restartDelayMs: config.platform.workers.restartDelayMs,
    graceMs: config.platform.shutdown.graceMs,
  };
  if (!runsService(workers)) {
    source.close();
    superviseWorkers(definition.name, workers);
    return;
  }
  // Listening for signals before the service exists: a SIGTERM during start-up (a rollout that
  // changed its mind) waits for the start to finish, then stops gracefully like any other — except
  // a start still waiting for PostgreSQL or NATS, which gives up at once (exit 0: nothing ran yet).
  let service: Stoppable | undefined;
  let stopRequested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!service) {
      if (stopRequested) return;
      stopRequested = signal;
      abandonStartupWaits(`${signal} during start-up`);
      setTimeout(() => {
        process.stderr.write(
          `${definition.name}: ${signal} during start-up, and the start did not finish within the grace time\n`,
        );
        process.exit(1);
      }, config.platform.shutdown.graceMs).unref();
      return;
    }
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${definition.name}: ${signal} received, stopping\n`);
    const forced = setTimeout(() => {
      process.stderr.write(
        `${definition.name}: graceful stop took longer than ${config.platform.shutdown.graceMs} ms\n`,
      );
      process.exit(1);
    }, config.platform.shutdown.graceMs);
    forced.unref();
    service.stop().then(
      () => {
        source.close();
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`${definition.name}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const runtime = await createService(definition, { config });
    await runtime.start();
    service = runtime;
  } catch (error) {
    if (stopRequested && isStartAbandoned(error)) {
      process.stderr.write(
        `${definition.name}: ${stopRequested} while waiting for a dependency, stopped\n`,
      );
      process.exit(0);
    }
    const appError = findAppError(error);
    process.stderr.write(
      `${definition.name}: failed to start: ${appError?.code ?? ''} ${String(error)}\n`,
    );
    if (error instanceof Error && error.cause instanceof Error)
      process.stderr.write(`  cause: ${error.cause.message}\n`);
    process.exit(1);
  }
  if (stopRequested) stop(stopRequested);
}
