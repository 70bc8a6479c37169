import type { Span } from './otlp-spans.ts';

/**
 * The runtime twin of `no-sync-call-chain`: from exported spans, every request (a SERVER span) or
 * message handler (a CONSUMER span) that waits on two or more synchronous calls to other services
 * one after another. A call is a CLIENT span of the handler's service (not a database statement)
 * reached without crossing another handler or a message; its callee is the service of the SERVER
 * span under it (else `peer.service`, `rpc.service`, `server.address`).
 *
 * Calls that overlap in time ran in parallel and count once; a call whose callee itself waited on a
 * call counts with that nested call (A waits for B, which waits for C: two in sequence); a failed
 * call repeated to the same operation is one call retried. What a message sets off is not waited for.
 */
export interface SyncCall {
  readonly callee: string;
  readonly operation: string;
  readonly span: Span;
  /** The callee's own longest sequence of calls while serving this one. */
  readonly nested: readonly SyncCall[];
  /** This call and every call nested in it, as calls waited on in sequence. */
  readonly length: number;
}

export interface CallChain {
  readonly service: string;
  readonly request: string;
  readonly handler: 'server' | 'consumer';
  readonly span: Span;
  /** The longest sequence of calls the handler waited on, in order. */
  readonly calls: readonly SyncCall[];
  readonly length: number;
}

/** Chains of one shape (same handler, same calls in the same order), with how often they occurred. */
export interface ChainPattern {
  readonly service: string;
  readonly request: string;
  readonly calls: readonly string[];
  readonly count: number;
  /** The slowest occurrence. */
  readonly example: CallChain;
}

export interface TraceCheck {
  readonly spans: number;
  readonly traces: number;
  /** Handlers looked at: SERVER and CONSUMER spans. */
  readonly handlers: number;
  readonly chains: readonly CallChain[];
  readonly patterns: readonly ChainPattern[];
}

export interface TraceCheckOptions {
  /** Calls not counted, by operation or callee (`*` matches anything), e.g. a key-set fetch that fills a cache. */
  readonly ignore?: readonly string[];
}

const key = (traceId: string, spanId: string) => `${traceId}/${spanId}`;
const isDatabase = (span: Span) =>
  span.attributes['db.system'] !== undefined || span.attributes['db.system.name'] !== undefined;

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function operationOf(span: Span): string {
  const method = span.attributes['rpc.method'];
  const service = span.attributes['rpc.service'];
  if (typeof method === 'string' && typeof service === 'string') return `${service}/${method}`;
  return span.name;
}

export function findSyncCallChains(
  spans: readonly Span[],
  options: TraceCheckOptions = {},
): TraceCheck {
  const ignored = (options.ignore ?? []).map(glob);
  const children = new Map<string, Span[]>();
  for (const span of spans) {
    if (span.parentSpanId === undefined) continue;
    const parent = key(span.traceId, span.parentSpanId);
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  const childrenOf = (span: Span) => children.get(key(span.traceId, span.spanId)) ?? [];

  /** The synchronous calls `handler` made to other services, in start order. */
  const callsOf = (handler: Span): { span: Span; callee: string; server?: Span }[] => {
    const calls: { span: Span; callee: string; server?: Span }[] = [];
    const visit = (span: Span) => {
      for (const child of childrenOf(span)) {
        if (child.kind === 'internal') {
          visit(child);
        } else if (child.kind === 'client' && !isDatabase(child)) {
          const server = childrenOf(child).find((s) => s.kind === 'server');
          const attribute = (name: string) => {
            const value = child.attributes[name];
            return typeof value === 'string' ? value : undefined;
          };
          const callee =
            server?.service ??
            attribute('peer.service') ??
            attribute('rpc.service') ??
            attribute('server.address') ??
            'unknown';
          if (callee === handler.service) continue;
          const operation = operationOf(child);
          if (ignored.some((pattern) => pattern.test(operation) || pattern.test(callee))) continue;
          calls.push(server ? { span: child, callee, server } : { span: child, callee });
        }
        // server/consumer: another handler; producer: a message, not waited for.
      }
    };
    visit(handler);
    calls.sort((a, b) => a.span.startMs - b.span.startMs);
    // A failed call followed by the same operation on the same callee was retried: one call.
    return calls.filter(
      (call, index) =>
        !call.span.error ||
        !calls
          .slice(index + 1)
          .some(
            (later) =>
              later.callee === call.callee &&
              operationOf(later.span) === operationOf(call.span) &&
              later.span.startMs >= call.span.endMs,
          ),
    );
  };

  const longest = new Map<string, { calls: SyncCall[]; length: number }>();
  /** The handler's heaviest sequence of calls that did not overlap in time. */
  const sequenceOf = (handler: Span): { calls: SyncCall[]; length: number } => {
    const id = key(handler.traceId, handler.spanId);
    const known = longest.get(id);
    if (known) return known;
    const calls: SyncCall[] = callsOf(handler).map(({ span, callee, server }) => {
      const nested = server ? sequenceOf(server) : { calls: [], length: 0 };
      return {
        callee,
        operation: operationOf(span),
        span,
        nested: nested.calls,
        length: 1 + nested.length,
      };
    });
    // Weighted longest chain in interval order: best[i] ends with calls[i].
    const best: { length: number; previous: number | undefined }[] = [];
    calls.forEach((call, i) => {
      let entry = { length: call.length, previous: undefined as number | undefined };
      for (let j = 0; j < i; j++) {
        if (
          calls[j]!.span.endMs <= call.span.startMs &&
          best[j]!.length + call.length > entry.length
        )
          entry = { length: best[j]!.length + call.length, previous: j };
      }
      best.push(entry);
    });
    let end: number | undefined;
    best.forEach((entry, i) => {
      if (end === undefined || entry.length > best[end]!.length) end = i;
    });
    const sequence: SyncCall[] = [];
    for (let i = end; i !== undefined; i = best[i]!.previous) sequence.unshift(calls[i]!);
    const result = { calls: sequence, length: end === undefined ? 0 : best[end]!.length };
    longest.set(id, result);
    return result;
  };

  const handlers = spans
    .filter((s) => s.kind === 'server' || s.kind === 'consumer')
    .sort((a, b) => a.startMs - b.startMs);
  const covered = new Set<string>();
  const cover = (calls: readonly SyncCall[]) => {
    for (const call of calls) {
      for (const server of childrenOf(call.span))
        if (server.kind === 'server') covered.add(key(server.traceId, server.spanId));
      cover(call.nested);
    }
  };
  const chains: CallChain[] = [];
  for (const handler of handlers) {
    const sequence = sequenceOf(handler);
    // A callee's chain is reported as part of its caller's.
    if (sequence.length < 2 || covered.has(key(handler.traceId, handler.spanId))) continue;
    cover(sequence.calls);
    chains.push({
      service: handler.service,
      request: handler.name,
      handler: handler.kind === 'consumer' ? 'consumer' : 'server',
      span: handler,
      calls: sequence.calls,
      length: sequence.length,
    });
  }
  return {
    spans: spans.length,
    traces: new Set(spans.map((s) => s.traceId)).size,
    handlers: handlers.length,
    chains,
    patterns: patternsOf(chains),
  };
}

/** `callee operation` of each call, nested calls indented one level more. */
export function describeCalls(calls: readonly SyncCall[], depth = 0): string[] {
  return calls.flatMap((call) => [
    `${'  '.repeat(depth)}${call.callee} ${call.operation}`,
    ...describeCalls(call.nested, depth + 1),
  ]);
}

function patternsOf(chains: readonly CallChain[]): ChainPattern[] {
  const patterns = new Map<string, { chains: CallChain[]; calls: string[] }>();
  for (const chain of chains) {
    const calls = describeCalls(chain.calls);
    const id = [chain.service, chain.request, ...calls].join('\n');
    const pattern = patterns.get(id) ?? { chains: [], calls };
    pattern.chains.push(chain);
    patterns.set(id, pattern);
  }
  const duration = (chain: CallChain) => chain.span.endMs - chain.span.startMs;
  return [...patterns.values()]
    .map(({ chains: group, calls }) => ({
      service: group[0]!.service,
      request: group[0]!.request,
      calls,
      count: group.length,
      example: group.reduce((a, b) => (duration(b) > duration(a) ? b : a)),
    }))
    .sort((a, b) => b.count - a.count || a.service.localeCompare(b.service));
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

export function formatTraceCheckText(check: TraceCheck): string {
  const scope = `${check.spans} spans, ${check.traces} traces, ${check.handlers} requests and message handlers`;
  if (check.chains.length === 0)
    return `orderly-guard traces: no synchronous call chain (${scope})`;
  const lines: string[] = [];
  for (const pattern of check.patterns) {
    const example = pattern.example;
    lines.push(
      `${pattern.service}  ${pattern.request}  ${pattern.count} ${pattern.count === 1 ? 'time' : 'times'}: waits on ${example.length} synchronous calls to other services in sequence (slowest: trace ${example.span.traceId}, ${ms(example.span.endMs - example.span.startMs)} ms)`,
    );
    const walk = (calls: readonly SyncCall[], prefix: string, depth: number) =>
      calls.forEach((call, index) => {
        const number = `${prefix}${index + 1}`;
        lines.push(
          `  ${'  '.repeat(depth)}${number}. ${call.callee}  ${call.operation}  ${ms(call.span.endMs - call.span.startMs)} ms (+${ms(call.span.startMs - example.span.startMs)} ms)`,
        );
        walk(call.nested, `${number}.`, depth + 1);
      });
    walk(example.calls, '', 0);
    lines.push(
      '  → make one call, call in parallel, or react to an event instead (no-sync-call-chain, seen at runtime)',
      '',
    );
  }
  lines.push(
    `orderly-guard traces: ${check.chains.length} synchronous call ${check.chains.length === 1 ? 'chain' : 'chains'} in ${check.patterns.length} ${check.patterns.length === 1 ? 'shape' : 'shapes'} (${scope})`,
  );
  return lines.join('\n');
}

export function formatTraceCheckJson(check: TraceCheck): string {
  const call = (c: SyncCall): unknown => ({
    callee: c.callee,
    operation: c.operation,
    traceId: c.span.traceId,
    spanId: c.span.spanId,
    durationMs: c.span.endMs - c.span.startMs,
    nested: c.nested.map(call),
  });
  return JSON.stringify(
    {
      spans: check.spans,
      traces: check.traces,
      handlers: check.handlers,
      chains: check.chains.map((chain) => ({
        service: chain.service,
        request: chain.request,
        handler: chain.handler,
        traceId: chain.span.traceId,
        spanId: chain.span.spanId,
        length: chain.length,
        calls: chain.calls.map(call),
      })),
    },
    null,
    2,
  );
}
