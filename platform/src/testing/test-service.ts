import type { Bus } from '../bus/bus.js';
import { MemoryBus } from '../bus/index.js';
import type { ServiceConfig } from '../config/index.js';
import type { Flags } from '../flags/index.js';
import type { Logger } from '../log/index.js';
import type { WorkloadIdentity } from '../rpc/workload-identity.js';
import {
  createService,
  type ServiceDefinition,
  type ServiceSection,
} from '../runtime/define-service.js';
import type { ServiceRuntime } from '../runtime/service-runtime.js';
import { dropTestDatabase, testServiceConfig } from './index.js';

export interface TestServiceOptions<Config, Adapters> {
  /** Keys of the service's section over the test base (port 0, operator port 0, a fresh database). */
  readonly service?: Record<string, unknown>;
  /** Platform keys over the test base (in-memory bus, quiet logs, the tests' workload keys). */
  readonly platform?: Record<string, unknown>;
  /** The whole configuration instead of `service` and `platform` (a `testLiveConfig`'s `live`). */
  readonly config?: ServiceConfig<Config>;
  /** The bus of a service that uses one; by default a new in-memory bus, closed by `stop`. */
  readonly bus?: Bus;
  readonly log?: Logger;
  readonly clock?: () => Date;
  readonly flags?: Flags;
  readonly identity?: WorkloadIdentity;
  readonly adapters?: Partial<Adapters>;
  /** Leave the database in place when stopping (a restart on the same data follows). */
  readonly keepDatabase?: boolean;
}

export interface TestService<Config> {
  readonly runtime: ServiceRuntime;
  /** Where its RPCs (or HTTP API) answer. */
  readonly url: string;
  /** The bus it uses (the one given, or the in-memory bus made for it); none for a service without. */
  readonly bus: Bus | undefined;
  readonly config: ServiceConfig<Config>;
  /** Stops the service, closes the bus made for it and drops its database (unless kept). */
  stop(options?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * The one way a test starts a service: the service of `definition` created as in production
 * (`createService`) on a test configuration (its own fresh database, port 0, the in-memory bus),
 * started, with its URL.
 */
export async function startTestService<
  Name extends string,
  Config extends ServiceSection,
  Adapters,
>(
  definition: ServiceDefinition<Name, Config, Adapters>,
  options: TestServiceOptions<Config, Adapters> = {},
): Promise<TestService<Config>> {
  const config =
    options.config ??
    testServiceConfig(definition.name, definition.configSchema, {
      ...(options.service ? { service: options.service } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
    });
  const usesBus = definition.usesBus ?? definition.database !== undefined;
  const ownBus = usesBus && !options.bus ? new MemoryBus() : undefined;
  const bus = usesBus ? (options.bus ?? ownBus) : undefined;
  const dropDatabase = async () => {
    const database = definition.database ? config.service.database : undefined;
    if (database) await dropTestDatabase(config.platform.postgres.url, database);
  };
  let runtime: ServiceRuntime | undefined;
  try {
    runtime = await createService(definition, {
      config,
      ...(bus ? { bus } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.flags ? { flags: options.flags } : {}),
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.adapters ? { adapters: options.adapters } : {}),
    });
    const { url } = await runtime.start();
    const started = runtime;
    return {
      runtime: started,
      url,
      bus,
      config,
      stop: async (stopOptions = {}) => {
        await started.stop();
        await ownBus?.close();
        if (!(stopOptions.keepDatabase ?? options.keepDatabase)) await dropDatabase();
      },
    };
  } catch (error) {
    await runtime?.stop().catch(() => undefined);
    await ownBus?.close();
    // A database this call named is nobody else's to drop.
    if (!options.config && !options.keepDatabase) await dropDatabase().catch(() => undefined);
    throw error;
  }
}
