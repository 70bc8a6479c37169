import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { describe, expect, test } from 'vitest';
import {
  AppError,
  createLogger,
  createRpcClient,
  errorCodeHeader,
  errorMappingInterceptor,
} from '../src/index.js';
import { type RpcResilienceOptions } from '../src/rpc/index.js';

/** A one-method service built in the test: `test.v1.EchoService/Echo(StringValue) → StringValue`. */
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/v1/echo_resilience.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['google/protobuf/wrappers.proto'],
    service: [
      {
        name: 'EchoService',
        method: [
          {
            name: 'Echo',
            inputType: '.google.protobuf.StringValue',
            outputType: '.google.protobuf.StringValue',
          },
        ],
      },
    ],
  }),
  () => file_google_protobuf_wrappers,
);
const EchoService = registry.getService('test.v1.EchoService') as DescService;
type EchoClient = { echo(request: { value: string }): Promise<{ value: string }> };

const resilience: RpcResilienceOptions = {
  retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  retryBudget: { maxTokens: 100, tokenRatio: 0.1 },
  circuitBreaker: { failureThreshold: 4, openMs: 60_000 },
};

type EchoHandler = (request: { value: string }) => Promise<{ value: string }>;

/**
 * An echo server whose handler is `echo`, behind the platform's error mapping (so AppErrors travel
 * as they do between services); `calls` counts the calls that reached the handler.
 */
async function anEchoServer(
  echo: EchoHandler,
): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const routes = (router: ConnectRouter) =>
    router.service(EchoService, {
      echo: (request: { value: string }) => {
        calls++;
        return echo(request);
      },
    } as never);
  const log = createLogger({ service: 'test', level: 'silent' });
  const server: Server = createServer(
    connectNodeAdapter({ routes, interceptors: [errorMappingInterceptor(log)] }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A server whose first `refusals` calls are refused before the handler runs (as injected faults are). */
function aRefusingEchoServer(refusals: number) {
  let seen = 0;
  return anEchoServer((request) => {
    seen++;
    if (seen <= refusals)
      throw new ConnectError('refused', Code.Unavailable, { [errorCodeHeader]: 'FAULT_INJECTED' });
    return Promise.resolve({ value: request.value });
  });
}

const clientOf = (
  url: string,
  options: {
    defaultTimeoutMs?: number;
    idleConnectionTimeoutMs?: number;
    resilience?: RpcResilienceOptions;
  } = {},
) =>
  createRpcClient(EchoService, {
    baseUrl: url,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 5000,
    ...(options.resilience ? { resilience: options.resilience } : {}),
    ...(options.idleConnectionTimeoutMs === undefined
      ? {}
      : { idleConnectionTimeoutMs: options.idleConnectionTimeoutMs }),
  }) as unknown as EchoClient;

describe('RPC client resilience', () => {
  test('when the callee refuses a call before handling it, then the client retries and the call succeeds', async () => {
    const server = await aRefusingEchoServer(2);
    try {
      const client = clientOf(server.url, { resilience });
      expect(await client.echo({ value: 'hi' })).toMatchObject({ value: 'hi' });
      expect(server.calls()).toBe(3);
    } finally {
      await server.close();
    }
  });

  test('when nothing listens at the callee, then after the threshold the circuit opens and calls fail at once as unavailable', async () => {
    const server = await aRefusingEchoServer(0);
    const url = server.url;
    await server.close(); // the port is now refused
    const client = clientOf(url, { resilience });
    const errors: ConnectError[] = [];
    for (let i = 0; i < 3; i++)
      errors.push(
        await client.echo({ value: 'x' }).then(
          () => {
            throw new Error('answered');
          },
          (e: unknown) => ConnectError.from(e),
        ),
      );
    expect(errors.map((e) => e.code)).toEqual([
      Code.Unavailable,
      Code.Unavailable,
      Code.Unavailable,
    ]);
    expect(errors.at(-1)?.metadata.get(errorCodeHeader)).toBe('CIRCUIT_OPEN');
  });

  test('when the callee sheds load, then its answers reach the caller as they are and the circuit stays closed', async () => {
    const server = await anEchoServer(() => {
      throw new AppError('INTAKE_SATURATED', 'come back later', {
        kind: 'unavailable',
        shedding: true,
      });
    });
    try {
      const client = clientOf(server.url, { resilience });
      const codes: (string | null)[] = [];
      // Twice the breaker's threshold: every answer is still the callee's own.
      for (let i = 0; i < 2 * resilience.circuitBreaker.failureThreshold; i++) {
        codes.push(
          await client.echo({ value: 'x' }).then(
            () => 'answered',
            (e: unknown) => ConnectError.from(e).metadata.get(errorCodeHeader),
          ),
        );
      }
      expect(new Set(codes)).toEqual(new Set(['INTAKE_SATURATED']));
      expect(server.calls()).toBe(2 * resilience.circuitBreaker.failureThreshold);
    } finally {
      await server.close();
    }
  });

  test('when a call takes longer than an idle connection is kept, then it still completes on its connection', async () => {
    const server = await anEchoServer(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 1600));
      return { value: request.value };
    });
    try {
      const client = clientOf(server.url, {
        defaultTimeoutMs: 10_000,
        idleConnectionTimeoutMs: 1000,
      });
      expect(await client.echo({ value: 'slow' })).toMatchObject({ value: 'slow' });
      // and again after the idle connection was dropped
      await new Promise((resolve) => setTimeout(resolve, 1300));
      expect(await client.echo({ value: 'again' })).toMatchObject({ value: 'again' });
    } finally {
      await server.close();
    }
  });

  test('when the callee failed while handling a non-idempotent call, then it is not retried', async () => {
    const server = await anEchoServer(() => {
      throw new ConnectError('lost', Code.Unavailable);
    });
    try {
      const client = clientOf(server.url, { resilience });
      await expect(client.echo({ value: 'x' })).rejects.toThrow('lost');
      expect(server.calls()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
