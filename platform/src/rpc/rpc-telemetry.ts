import { performance } from 'node:perf_hooks';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { SpanKind, context, trace, type Attributes } from '@opentelemetry/api';
import { platformInstruments } from '../telemetry/instruments.js';
import {
  correlationAttributes,
  extractTraceContext,
  injectTraceHeaders,
} from '../telemetry/propagation.js';
import { recordFailure, type Telemetry } from '../telemetry/telemetry.js';

/**
 * Trace context across Connect RPC. Interceptors work the same over HTTP/1.1 and HTTP/2 (which
 * auto-instrumentation does not see): the client injects `traceparent`/`baggage` into the request
 * headers and opens a CLIENT span; the server continues that trace in a SERVER span named
 * `<package.Service>/<Method>` and records `rpc.server.duration`.
 */
function rpcAttributes(service: string, method: string): Attributes {
  return { 'rpc.system': 'connect_rpc', 'rpc.service': service, 'rpc.method': method };
}

/** `NotFound` → `not_found`, as the semantic conventions spell Connect codes. */
function connectCodeName(error: unknown): string {
  return Code[ConnectError.from(error).code].replace(
    /[A-Z]/g,
    (c, i: number) => (i > 0 ? '_' : '') + c.toLowerCase(),
  );
}

export function rpcServerTelemetry(telemetry: Telemetry): Interceptor {
  return (next) => async (request) => {
    if (!telemetry.enabled) return next(request);
    const instruments = platformInstruments(telemetry.meter);
    const parent = extractTraceContext(request.header, { trustBaggage: true });
    const attributes = rpcAttributes(request.service.typeName, request.method.name);
    const span = telemetry.tracer.startSpan(
      `${request.service.typeName}/${request.method.name}`,
      { kind: SpanKind.SERVER, attributes: { ...attributes, ...correlationAttributes(parent) } },
      parent,
    );
    const started = performance.now();
    let code: string | undefined;
    try {
      return await context.with(trace.setSpan(parent, span), () => next(request));
    } catch (error) {
      code = connectCodeName(error);
      recordFailure(span, error);
      span.setAttribute('rpc.connect_rpc.error_code', code);
      throw error;
    } finally {
      span.end();
      instruments.rpcServerDuration.record(
        performance.now() - started,
        code ? { ...attributes, 'rpc.connect_rpc.error_code': code } : attributes,
      );
    }
  };
}

/**
 * Injects the active trace context into every call. With a service's telemetry it also opens a
 * CLIENT span and records `rpc.client.duration`; without one (CLI, tests) it only propagates.
 */
export function rpcClientTelemetry(telemetry: Telemetry | undefined): Interceptor {
  return (next) => async (request) => {
    if (!telemetry?.enabled) {
      injectTraceHeaders(request.header);
      return next(request);
    }
    const instruments = platformInstruments(telemetry.meter);
    const parent = context.active();
    const attributes = rpcAttributes(request.service.typeName, request.method.name);
    const span = telemetry.tracer.startSpan(
      `${request.service.typeName}/${request.method.name}`,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
    const active = trace.setSpan(parent, span);
    injectTraceHeaders(request.header, active);
    const started = performance.now();
    let code: string | undefined;
    try {
      return await context.with(active, () => next(request));
    } catch (error) {
      code = connectCodeName(error);
      recordFailure(span, error);
      span.setAttribute('rpc.connect_rpc.error_code', code);
      throw error;
    } finally {
      span.end();
      instruments.rpcClientDuration.record(
        performance.now() - started,
        code ? { ...attributes, 'rpc.connect_rpc.error_code': code } : attributes,
      );
    }
  };
}
