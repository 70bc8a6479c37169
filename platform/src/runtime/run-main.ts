import type { z } from 'zod';
import {
  ConfigSource,
  LiveConfig,
  type ConfigDocument,
  loadConfigDocument,
  parseServiceConfig,
} from '../config/index.js';
import { findAppError } from '../errors/index.js';
import { abandonStartupWaits, isStartAbandoned } from './startup.js';
import { runsService, superviseWorkers, type WorkerSettings } from './workers.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The body of every service's `main.ts`: load and validate configuration (a bad value exits 1 with
 * the key, value and rule), start the service with a `LiveConfig` that follows the configuration
 * files (`configReload`), and on SIGTERM/SIGINT stop it gracefully and exit 0.
 * If the graceful stop takes longer than `shutdown.graceMs`, exit 1 rather than hang.
 * With `workers.count.<name>` > 1 this process only supervises that many workers (./workers.ts).
 */
export async function runServiceMain<Schema extends z.ZodType>(options: {
  readonly name: string;
  readonly configSchema: Schema;
  /**
   * Rules across sections of the whole document (e.g. one service's timeout against another's),
   * checked with the schemas at start and at every reload; they throw a ConfigError.
   */
  readonly checkDocument?: (document: ConfigDocument) => void;
  readonly start: (config: LiveConfig<z.output<Schema>>) => Promise<Stoppable>;
}): Promise<void> {
  let config: LiveConfig<z.output<Schema>>;
  let source: ConfigSource;
  try {
    const argv = process.argv.slice(2);
    source = new ConfigSource({
      load: () => loadConfigDocument({ argv, env: process.env }),
      validate: (document) => {
        parseServiceConfig(document, options.name, options.configSchema);
        options.checkDocument?.(document);
      },
    });
    config = LiveConfig.follow(source, options.name, options.configSchema);
    const reload = () => config.platform.configReload;
    if (reload().watch)
      source.watch(() => ({
        debounceMs: reload().debounceMs,
        pollIntervalMs: reload().pollIntervalMs,
      }));
  } catch (error) {
    process.stderr.write(
      `${options.name}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
  const workers: WorkerSettings = {
    count: config.platform.workers.count[options.name] ?? 1,
    restartDelayMs: config.platform.workers.restartDelayMs,
    graceMs: config.platform.shutdown.graceMs,
  };
  if (!runsService(workers)) {
    source.close();
    superviseWorkers(options.name, workers);
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
          `${options.name}: ${signal} during start-up, and the start did not finish within the grace time\n`,
        );
        process.exit(1);
      }, config.platform.shutdown.graceMs).unref();
      return;
    }
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${options.name}: ${signal} received, stopping\n`);
    const forced = setTimeout(() => {
      process.stderr.write(
        `${options.name}: graceful stop took longer than ${config.platform.shutdown.graceMs} ms\n`,
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
        process.stderr.write(`${options.name}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    service = await options.start(config);
  } catch (error) {
    if (stopRequested && isStartAbandoned(error)) {
      process.stderr.write(
        `${options.name}: ${stopRequested} while waiting for a dependency, stopped\n`,
      );
      process.exit(0);
    }
    const appError = findAppError(error);
    process.stderr.write(
      `${options.name}: failed to start: ${appError?.code ?? ''} ${String(error)}\n`,
    );
    if (error instanceof Error && error.cause instanceof Error)
      process.stderr.write(`  cause: ${error.cause.message}\n`);
    process.exit(1);
  }
  if (stopRequested) stop(stopRequested);
}
