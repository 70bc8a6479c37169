import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createHttp1Server, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';
import { createClient, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter, createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfigDocument, parseConfigSection, platformConfigSchema } from '../src/index.js';
import { rpcClientTelemetry, rpcServerTelemetry } from '../src/rpc/index.js';
import { createTelemetry } from '../src/telemetry/index.js';
import { recordSpans } from '../src/testing/index.js';

/** A one-method service built in the test: `test.v1.EchoService/Echo(StringValue) → StringValue`. */
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/v1/echo.proto',
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

const platform = parseConfigSection(
  platformConfigSchema,
  loadConfigDocument({ argv: [], env: {}, overrides: { logLevel: 'silent' } }).document,
);
const caller = createTelemetry({ service: 'caller', platform });
const callee = createTelemetry({ service: 'callee', platform });
const spans = recordSpans();

const routes = (router: ConnectRouter) =>
  // The descriptor is built at run time, so its method types are not known statically.
  router.service(EchoService, {
    echo: (request: { value: string }) => Promise.resolve({ value: request.value }),
  } as never);
const handler = connectNodeAdapter({ routes, interceptors: [rpcServerTelemetry(callee)] });

afterAll(async () => {
  spans.stop();
  await Promise.all([caller.shutdown(), callee.shutdown()]);
});

describe('trace context over Connect', () => {
  test.each(['1.1', '2'] as const)(
    'when a call goes over HTTP/%s, then the server span is a child of the client span in the caller trace',
    async (httpVersion) => {
      const server: Server | ReturnType<typeof createHttp2Server> =
        httpVersion === '2' ? createHttp2Server(handler) : createHttp1Server(handler);
      // The client keeps its HTTP/2 session open; close it with the server.
      const sessions = new Set<{ destroy(): void }>();
      server.on('session', (session: { destroy(): void }) => sessions.add(session));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const transport = createConnectTransport({
        baseUrl: `http://127.0.0.1:${port}`,
        httpVersion,
        interceptors: [rpcClientTelemetry(caller)],
      });
      const client = createClient(EchoService, transport) as unknown as {
        echo(request: { value: string }): Promise<{ value: string }>;
      };
      try {
        await caller.inSpan(`request over ${httpVersion}`, {}, async () => {
          expect(await client.echo({ value: 'hi' })).toMatchObject({ value: 'hi' });
        });
      } finally {
        const closed = new Promise((resolve) => server.close(resolve));
        for (const session of sessions) session.destroy();
        await closed;
      }
      const root = spans.spans().find((s) => s.name === `request over ${httpVersion}`);
      const trace = spans.trace(root!.spanContext().traceId);
      const clientSpan = trace.find(
        (s) =>
          s.resource.attributes['service.name'] === 'caller' &&
          s.name === 'test.v1.EchoService/Echo',
      );
      const serverSpan = trace.find((s) => s.resource.attributes['service.name'] === 'callee');
      expect(clientSpan?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
      expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
      expect(serverSpan?.attributes).toMatchObject({
        'rpc.system': 'connect_rpc',
        'rpc.service': 'test.v1.EchoService',
        'rpc.method': 'Echo',
      });
    },
  );
});
