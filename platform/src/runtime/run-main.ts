import type { z } from 'zod';
import { loadConfigDocument, parseServiceConfig, type ServiceConfig } from '../config/index.js';
import { findAppError } from '../errors/index.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The body of every service's `main.ts`: load and validate configuration (a bad value exits 1 with
 * the key, value and rule), start the service, and on SIGTERM/SIGINT stop it gracefully and exit 0.
 * If the graceful stop takes longer than `shutdown.graceMs`, exit 1 rather than hang.
 */
export async function runServiceMain<Schema extends z.ZodType>(options: {
  readonly name: string;
  readonly configSchema: Schema;
  readonly start: (config: ServiceConfig<z.output<Schema>>) => Promise<Stoppable>;
}): Promise<void> {
  let config: ServiceConfig<z.output<Schema>>;
  try {
    config = parseServiceConfig(loadConfigDocument(), options.name, options.configSchema);
  } catch (error) {
    process.stderr.write(`${options.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let service: Stoppable;
  try {
    service = await options.start(config);
  } catch (error) {
    const appError = findAppError(error);
    process.stderr.write(`${options.name}: failed to start: ${appError?.code ?? ''} ${String(error)}\n`);
    if (error instanceof Error && error.cause instanceof Error) process.stderr.write(`  cause: ${error.cause.message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${options.name}: ${signal} received, stopping\n`);
    const forced = setTimeout(() => {
      process.stderr.write(`${options.name}: graceful stop took longer than ${config.platform.shutdown.graceMs} ms\n`);
      process.exit(1);
    }, config.platform.shutdown.graceMs);
    forced.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${options.name}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
