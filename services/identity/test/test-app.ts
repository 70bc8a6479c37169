import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Code } from '@connectrpc/connect';
import { ConnectError, type Client } from '@connectrpc/connect';
import {
  createLogger,
  createRpcClient,
  errorCodeHeader,
  type ServiceConfig,
  type ServiceRuntime,
} from '@orderly/platform';
import { startTestService, testServiceConfig, testCaller } from '@orderly/platform/testing';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import { identityConfigSchema, identityService, type IdentityConfig } from '../src/service.js';

export type IdentityClient = Client<typeof IdentityService>;

/** Cheap scrypt for tests (the real cost is config/default.yaml's); everything else as shipped. */
export const fastScrypt = { cost: 1024, blockSize: 8, parallelization: 1 };

export function identityTestConfig(
  service: Record<string, unknown> = {},
  platform: Record<string, unknown> = {},
) {
  return testServiceConfig('identity', identityConfigSchema, {
    service: {
      keyRetireSweepIntervalMs: 50,
      ...service,
      password: {
        ...((service.password as Record<string, unknown> | undefined) ?? {}),
        scrypt: fastScrypt,
      },
    },
    platform,
  });
}

export interface TestIdentity {
  readonly runtime: ServiceRuntime;
  readonly client: IdentityClient;
  readonly url: string;
  readonly config: ServiceConfig<IdentityConfig>;
  /** Every log line the service wrote, raw (to search for leaked secrets) and parsed. */
  readonly logText: () => string;
  readonly logLines: Record<string, unknown>[];
  readonly clock: { now: Date; advance(ms: number): void };
  stop(options?: { keepDatabase?: boolean }): Promise<void>;
}

export async function startTestIdentity(
  options: {
    service?: Record<string, unknown>;
    /** A fixed configuration, or a LiveConfig that follows a file (testLiveConfig). */
    config?: ServiceConfig<IdentityConfig>;
  } = {},
): Promise<TestIdentity> {
  const config = options.config ?? identityTestConfig(options.service);
  const raw: string[] = [];
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      raw.push(text);
      for (const line of text.split('\n'))
        if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ service: 'identity', level: 'trace', destination });
  const clock = {
    now: new Date(),
    advance(ms: number) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
  const service = await startTestService(identityService, {
    config,
    log,
    clock: () => clock.now,
  });
  const client = createRpcClient(IdentityService, {
    baseUrl: service.url,
    defaultTimeoutMs: 10_000,
    identity: await testCaller('gateway', 'identity'),
  });
  return {
    runtime: service.runtime,
    client,
    url: service.url,
    config,
    logText: () => raw.join(''),
    logLines,
    clock,
    stop: (stopOptions) => service.stop(stopOptions),
  };
}

export function anEmail(): string {
  return `user-${randomBytes(5).toString('hex')}@example.test`;
}

export const aPassword = () => `pw-${randomBytes(8).toString('hex')}`;

export async function rpcError(
  call: Promise<unknown>,
): Promise<{ code: Code; errorCode: string | null; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return {
      code: connectError.code,
      errorCode: connectError.metadata.get(errorCodeHeader),
      message: connectError.rawMessage,
    };
  }
  throw new Error('expected the call to fail');
}
