import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { platformInstruments, secondsSince } from './instruments.js';
import { extractTraceContext } from './propagation.js';
import type { Telemetry } from './telemetry.js';

/**
 * The server span and `http.server.request.duration` of a plain HTTP handler (the gateway's public
 * API). The caller's `traceparent` is continued; its `baggage` is not trusted. The framework names
 * the route once it has matched one (`nameHttpRoute`), so spans and metrics group by route, not URL.
 */
interface RequestState {
  readonly span: Span;
  readonly method: string;
  route: string | undefined;
}

const requests = new WeakMap<IncomingMessage, RequestState>();
const knownMethods = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

export function traceHttpRequest(
  telemetry: Telemetry,
  req: IncomingMessage,
  res: ServerResponse,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  if (!telemetry.enabled) return handler(req, res);
  const started = performance.now();
  const method = req.method && knownMethods.has(req.method) ? req.method : '_OTHER';
  const parent = extractTraceContext(req.headers, { trustBaggage: false });
  const span = telemetry.tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': method,
        'url.path': req.url?.split('?')[0] ?? '/',
        'network.protocol.version': req.httpVersion,
      },
    },
    parent,
  );
  const state: RequestState = { span, method, route: undefined };
  requests.set(req, state);
  const active = trace.setSpan(parent, span);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const status = res.statusCode;
    const attributes: Attributes = {
      'http.request.method': method,
      'http.response.status_code': status,
    };
    if (state.route) attributes['http.route'] = state.route;
    if (status >= 500 || !res.writableFinished) {
      attributes['error.type'] = res.writableFinished ? String(status) : 'aborted';
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', attributes['error.type']);
    }
    span.setAttribute('http.response.status_code', status);
    span.end();
    platformInstruments(telemetry.meter).httpServerDuration.record(
      secondsSince(started),
      attributes,
    );
  };
  res.once('finish', finish);
  res.once('close', finish);
  // Body chunks and 'finish' are emitted from the socket's context; bind them to the request's.
  context.bind(active, req);
  context.bind(active, res);
  context.with(active, () => handler(req, res));
}

/** Names the matched route of a request traced by `traceHttpRequest` (`/v1/orders/:orderId`). */
export function nameHttpRoute(req: IncomingMessage, route: string): void {
  const state = requests.get(req);
  if (!state || state.route === route) return;
  state.route = route;
  state.span.updateName(`${state.method} ${route}`);
  state.span.setAttribute('http.route', route);
}
