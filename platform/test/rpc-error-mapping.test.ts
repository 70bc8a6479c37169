import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { describe, expect, test } from 'vitest';
import {
  createLogger,
  createRpcClient,
  errorCodeHeader,
  errorMappingInterceptor,
  fromRpcError,
} from '../src/index.js';

/**
 * Regressions from the chaos drills: a callee that cannot reach its database answered Internal
 * (HTTP 500 at the gateway), and a callee killed mid call surfaced as Aborted, also 500. Both are
 * "try again later" (503), never a bug report: a client retrying with its idempotency key is safe.
 */
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/v1/echo_errors.proto',
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

async function serve(echo: () => Promise<never>): Promise<{ client: EchoClient; server: Server }> {
  const routes = (router: ConnectRouter) => router.service(EchoService, { echo } as never);
  const server = createServer(
    connectNodeAdapter({
      routes,
      interceptors: [errorMappingInterceptor(createLogger({ service: 'test', level: 'silent' }))],
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = createRpcClient(EchoService, {
    baseUrl: `http://127.0.0.1:${port}`,
    defaultTimeoutMs: 5000,
  }) as unknown as EchoClient;
  return { client, server };
}

describe('RPC error mapping under failures', () => {
  test('when the handler cannot reach its database, then the caller gets unavailable (DEPENDENCY_UNAVAILABLE), not internal', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const { client, server } = await serve(() =>
      Promise.reject(new Error('transaction failed', { cause: refused })),
    );
    try {
      const error = await client.echo({ value: 'x' }).catch((e: unknown) => ConnectError.from(e));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unavailable);
      expect((error as ConnectError).metadata.get(errorCodeHeader)).toBe('DEPENDENCY_UNAVAILABLE');
      expect(fromRpcError(error, 'echo').kind).toBe('unavailable');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('when the request cannot be written because the callee is gone (EPIPE), then the caller sees unavailable, not internal', () => {
    // What connect-node hands the caller when a pooled connection's peer was killed: code internal.
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' });
    const error = new ConnectError('write EPIPE', Code.Internal, undefined, undefined, epipe);

    const mapped = fromRpcError(error, 'echo');

    expect(mapped.kind).toBe('unavailable');
    expect(mapped.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  test('when the callee itself answers internal, then the caller still sees internal', () => {
    const error = new ConnectError('internal error', Code.Internal, {
      [errorCodeHeader]: 'INTERNAL',
    });

    expect(fromRpcError(error, 'echo').kind).toBe('internal');
  });

  test('when the connection to the callee breaks mid call, then the caller sees unavailable', async () => {
    const { client, server } = await serve(() => {
      // The callee dies while handling: every open connection is cut.
      server.closeAllConnections();
      return new Promise<never>(() => undefined);
    });
    try {
      const error = await client.echo({ value: 'x' }).catch((e: unknown) => e);
      expect(fromRpcError(error, 'echo').kind).toBe('unavailable');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
