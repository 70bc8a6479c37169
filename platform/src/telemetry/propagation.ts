import {
  ROOT_CONTEXT,
  context,
  propagation,
  type Attributes,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';

/**
 * W3C trace context on every hop: HTTP and Connect headers, and the headers of bus messages (which
 * the outbox stores with each row). `baggage` carries correlation attributes such as `order.id`
 * between services, so every span that handles an order can say which order it is — without the
 * platform knowing what an order is.
 */
export const traceHeaders = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  baggage: 'baggage',
} as const;

const traceContextPropagator = new W3CTraceContextPropagator();
/** traceparent, tracestate and baggage. */
export const tracePropagator = new CompositePropagator({
  propagators: [traceContextPropagator, new W3CBaggagePropagator()],
});

type HeaderSource = Readonly<Record<string, string | string[] | undefined>> | Headers;

const getter: TextMapGetter<HeaderSource> = {
  keys: (carrier) => (carrier instanceof Headers ? [...carrier.keys()] : Object.keys(carrier)),
  get: (carrier, key) => {
    if (carrier instanceof Headers) return carrier.get(key) ?? undefined;
    const exact = carrier[key];
    if (exact !== undefined) return exact;
    // Bus headers keep the case they were written with; HTTP headers arrive lower-cased.
    const lower = key.toLowerCase();
    for (const [name, value] of Object.entries(carrier))
      if (name.toLowerCase() === lower) return value;
    return undefined;
  },
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * The context a message or request was sent in. `trustBaggage: false` is for the public edge:
 * a client may continue its own trace, but not put attributes on ours.
 */
export function extractTraceContext(
  carrier: HeaderSource,
  options: { trustBaggage: boolean },
): Context {
  const propagator = options.trustBaggage ? tracePropagator : traceContextPropagator;
  return propagator.extract(ROOT_CONTEXT, carrier, getter);
}

/**
 * Writes `traceparent`/`tracestate` (and `baggage` with the context's correlation plus `correlation`)
 * into `carrier`, replacing those already there. Writes nothing when `ctx` has no valid span.
 */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
  correlation?: Readonly<Record<string, string>>,
): Record<string, string> {
  const withCorrelation = correlation ? addCorrelation(ctx, correlation) : ctx;
  tracePropagator.inject(withCorrelation, carrier, recordSetter);
  return carrier;
}

export function injectTraceHeaders(headers: Headers, ctx: Context = context.active()): void {
  tracePropagator.inject(ctx, headers, headersSetter);
}

/** `ctx` with `entries` added to its correlation baggage. */
export function addCorrelation(ctx: Context, entries: Readonly<Record<string, string>>): Context {
  let baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  for (const [key, value] of Object.entries(entries)) baggage = baggage.setEntry(key, { value });
  return propagation.setBaggage(ctx, baggage);
}

/** The correlation entries of `ctx` as span attributes. */
export function correlationAttributes(ctx: Context): Attributes {
  const attributes: Attributes = {};
  for (const [key, entry] of propagation.getBaggage(ctx)?.getAllEntries() ?? [])
    attributes[key] = entry.value;
  return attributes;
}

/** The active trace, kept to continue it later: work done for many requests at once (a batch). */
export interface CapturedTrace {
  /** Runs `work` in the captured trace. */
  run<T>(work: () => T): T;
  /** The captured trace as W3C trace-context headers, to carry it inside a message. */
  headers(): Record<string, string>;
}

export function captureTrace(): CapturedTrace {
  const captured = context.active();
  return {
    run: (work) => context.with(captured, work),
    headers: () => injectTraceContext({}, captured),
  };
}

/**
 * Runs `work` in the trace that `headers` carry (as written by `CapturedTrace.headers`), e.g. one
 * item of a batch call; baggage is not trusted, as at the public edge.
 */
export function inTraceOf<T>(headers: Readonly<Record<string, string>>, work: () => T): T {
  return context.with(extractTraceContext(headers, { trustBaggage: false }), work);
}
