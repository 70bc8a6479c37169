import { Agent } from 'node:http';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import type { Telemetry } from '../telemetry/telemetry.js';
import { rpcClientTelemetry } from './rpc-telemetry.js';
import { observeCircuit } from './rpc-circuit-metrics.js';
import { rpcResilienceInterceptor, type RpcResilienceOptions } from './rpc-resilience.js';
import { workloadCredentials, type WorkloadIdentity } from './workload-identity.js';

export interface RpcClientOptions {
  readonly baseUrl: string;
  /** Deadline sent with every call that does not set its own `timeoutMs`. */
  readonly defaultTimeoutMs: number;
  /** The calling service's telemetry: CLIENT spans and `rpc.client.duration`. Trace context travels either way. */
  readonly telemetry?: Telemetry;
  /** Circuit breaker and retries with a budget for this callee (platform `rpc.resilience`); none when absent. */
  readonly resilience?: RpcResilienceOptions;
  /**
   * Keep-alive connections to this callee (platform `rpc.maxConnectionsPerCallee`), all kept when
   * idle; without it, Node's defaults (as many as calls run at once, up to 256 kept when idle).
   */
  readonly maxConnections?: number;
  /**
   * An idle connection is closed after this long (platform `rpc.idleConnectionTimeoutMs`); it must
   * stay below the callee's keep-alive timeout. Without it, idle connections stay until the callee
   * closes them.
   */
  readonly idleConnectionTimeoutMs?: number;
  /**
   * Who is calling: every call carries this workload's service token for `identity.audience` (the
   * callee's name), which the callee checks against its `rpcCallers`. Without it calls are refused
   * (CALLER_UNAUTHENTICATED) by any Orderly service.
   */
  readonly identity?: { readonly caller: WorkloadIdentity; readonly audience: string };
}

/**
 * A typed client for another service's contract. Binary protobuf over HTTP/1.1 keep-alive;
 * the deadline travels as `connect-timeout-ms` and the callee applies it to its database work,
 * and the trace context as `traceparent`.
 */
export function createRpcClient<Service extends DescService>(
  service: Service,
  options: RpcClientOptions,
): Client<Service> {
  const meter = options.telemetry?.enabled ? options.telemetry.meter : undefined;
  const transport = createConnectTransport({
    baseUrl: options.baseUrl,
    httpVersion: '1.1',
    useBinaryFormat: true,
    defaultTimeoutMs: options.defaultTimeoutMs,
    // A bounded pool of kept-alive connections, all of them kept when idle: Node's global agent
    // opens a connection per concurrent call and closes those beyond 256 idle ones, which under load
    // meant a TCP connect and close for most calls. LIFO reuses the warmest connection. An idle
    // connection is dropped after `idleConnectionTimeoutMs`, before the callee's keep-alive timeout
    // closes it from its side: reusing one the callee is closing at that instant fails the call
    // (ECONNRESET).
    nodeOptions: {
      agent: new Agent({
        keepAlive: true,
        ...(options.maxConnections === undefined
          ? {}
          : { maxSockets: options.maxConnections, maxFreeSockets: options.maxConnections }),
        scheduling: 'lifo',
        ...(options.idleConnectionTimeoutMs === undefined
          ? {}
          : { timeout: options.idleConnectionTimeoutMs }),
      }),
    },
    interceptors: [
      rpcClientTelemetry(options.telemetry),
      // Inside telemetry: one client span covers every try of a call.
      ...(options.resilience
        ? [
            rpcResilienceInterceptor(
              options.baseUrl,
              options.resilience,
              meter && ((state) => observeCircuit(meter, service.typeName, state)),
            ),
          ]
        : []),
      // Innermost: each try carries a current token.
      ...(options.identity
        ? [workloadCredentials(options.identity.caller, options.identity.audience)]
        : []),
    ],
  });
  return createClient(service, transport);
}
