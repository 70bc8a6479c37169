import type { TraceSpan } from './span-file.js';

/**
 * The service map a set of spans shows: who calls whom synchronously (HTTP from outside, RPC
 * client → server), who publishes which message and who consumes it (producer → subject →
 * consumer), and which database each service sends statements to — each edge with its calls, error
 * rate and p99. `criticalPath` finds what an order's end-to-end time was spent on.
 */
export type NodeKind = 'client' | 'service' | 'subject' | 'database';
export type EdgeKind = 'http' | 'rpc' | 'publish' | 'consume' | 'db';

export interface MapNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly label: string;
}

export interface EdgeStats {
  readonly calls: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface MapEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly stats: EdgeStats;
  /** Per operation: the RPC method, HTTP route, subscription or statement summary. */
  readonly operations: readonly { readonly name: string; readonly stats: EdgeStats }[];
  /** Consume edges: p99 from the publish starting to the processing starting (queue and relay). */
  readonly waitP99Ms?: number | undefined;
}

export interface ServiceMap {
  readonly nodes: readonly MapNode[];
  readonly edges: readonly MapEdge[];
  readonly spanCount: number;
  readonly traceCount: number;
  /** The edge each span was counted on, by `traceId/spanId`. */
  readonly edgeOfSpan: ReadonlyMap<string, string>;
}

export const spanKey = (span: Pick<TraceSpan, 'traceId' | 'spanId'>) =>
  `${span.traceId}/${span.spanId}`;
const parentKey = (span: TraceSpan) =>
  span.parentSpanId === undefined ? undefined : `${span.traceId}/${span.parentSpanId}`;
const durationMs = (span: TraceSpan) => Math.max(0, span.endMs - span.startMs);
const text = (value: string | number | boolean | undefined) =>
  value === undefined ? undefined : String(value);

export const clientNode = 'client';

interface EdgeDraft {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly durations: number[];
  errors: number;
  readonly operations: Map<string, { durations: number[]; errors: number }>;
  readonly waits: number[];
}

/** The map of every span given (from any number of traces). */
export function buildServiceMap(spans: readonly TraceSpan[]): ServiceMap {
  const byKey = new Map(spans.map((span) => [spanKey(span), span]));
  const serverChildOf = new Map<string, TraceSpan>();
  for (const span of spans) {
    const parent = parentKey(span);
    if (span.kind === 'server' && parent !== undefined) serverChildOf.set(parent, span);
  }
  const nodes = new Map<string, MapNode>();
  const node = (id: string, kind: NodeKind, label: string) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind, label });
    return id;
  };
  const drafts = new Map<string, EdgeDraft>();
  const edgeOfSpan = new Map<string, string>();
  const count = (
    span: TraceSpan,
    from: string,
    to: string,
    kind: EdgeKind,
    operation: string,
    waitMs?: number,
  ) => {
    const id = `${from}|${kind}|${to}`;
    let draft = drafts.get(id);
    if (!draft) {
      draft = { from, to, kind, durations: [], errors: 0, operations: new Map(), waits: [] };
      drafts.set(id, draft);
    }
    const duration = durationMs(span);
    draft.durations.push(duration);
    if (span.error) draft.errors++;
    let op = draft.operations.get(operation);
    if (!op) {
      op = { durations: [], errors: 0 };
      draft.operations.set(operation, op);
    }
    op.durations.push(duration);
    if (span.error) op.errors++;
    if (waitMs !== undefined) draft.waits.push(waitMs);
    edgeOfSpan.set(spanKey(span), id);
  };

  for (const span of spans) {
    const service = node(span.service, 'service', span.service);
    const attributes = span.attributes;
    const parentSpan = byKey.get(parentKey(span) ?? '');
    switch (span.kind) {
      case 'client': {
        const dbSystem = text(attributes['db.system.name'] ?? attributes['db.system']);
        if (dbSystem !== undefined) {
          const namespace = text(attributes['db.namespace'] ?? attributes['db.name']);
          const database = node(
            `db:${dbSystem}:${namespace ?? ''}`,
            'database',
            namespace ? `${dbSystem} ${namespace}` : dbSystem,
          );
          count(span, service, database, 'db', text(attributes['db.query.summary']) ?? span.name);
          break;
        }
        const server = serverChildOf.get(spanKey(span));
        const callee =
          server?.service ??
          text(attributes['peer.service']) ??
          text(attributes['rpc.service']) ??
          text(attributes['server.address']) ??
          'unknown';
        const rpcMethod = text(attributes['rpc.method']);
        const operation =
          rpcMethod === undefined
            ? span.name
            : `${text(attributes['rpc.service']) ?? ''}/${rpcMethod}`.replace(/^\//, '');
        const kind: EdgeKind = attributes['rpc.system'] === undefined ? 'http' : 'rpc';
        count(span, service, node(callee, 'service', callee), kind, operation);
        if (server) edgeOfSpan.set(spanKey(server), `${service}|${kind}|${callee}`);
        break;
      }
      case 'server': {
        // A server span under a client span is that call's other end, counted with the client.
        if (parentSpan?.kind === 'client') break;
        const kind: EdgeKind = attributes['rpc.system'] === undefined ? 'http' : 'rpc';
        count(span, node(clientNode, 'client', 'client'), service, kind, span.name);
        break;
      }
      case 'producer': {
        const subject = text(attributes['messaging.destination.name']) ?? span.name;
        count(span, service, node(`subject:${subject}`, 'subject', subject), 'publish', subject);
        break;
      }
      case 'consumer': {
        const subject = text(attributes['messaging.destination.name']) ?? span.name;
        const wait =
          parentSpan?.kind === 'producer'
            ? Math.max(0, span.startMs - parentSpan.startMs)
            : undefined;
        count(
          span,
          node(`subject:${subject}`, 'subject', subject),
          service,
          'consume',
          text(attributes['messaging.consumer.group.name']) ?? span.name,
          wait,
        );
        break;
      }
      case 'internal':
        break;
    }
  }

  const edges: MapEdge[] = [...drafts.entries()].map(([id, draft]) => ({
    id,
    from: draft.from,
    to: draft.to,
    kind: draft.kind,
    stats: stats(draft.durations, draft.errors),
    operations: [...draft.operations.entries()]
      .map(([name, op]) => ({ name, stats: stats(op.durations, op.errors) }))
      .sort((a, b) => b.stats.calls - a.stats.calls || a.name.localeCompare(b.name)),
    waitP99Ms: draft.waits.length > 0 ? percentile(draft.waits, 0.99) : undefined,
  }));
  return {
    // Those who call from outside first, then in the order spans named them.
    nodes: [...nodes.values()].sort(
      (a, b) => Number(b.kind === 'client') - Number(a.kind === 'client'),
    ),
    edges: sortEdges(edges),
    spanCount: spans.length,
    traceCount: new Set(spans.map((s) => s.traceId)).size,
    edgeOfSpan,
  };
}

const kindOrder: Record<EdgeKind, number> = { http: 0, rpc: 1, publish: 2, consume: 2, db: 3 };

/** HTTP, then RPC, then each subject's publishers followed by its consumers, then databases. */
function sortEdges(edges: MapEdge[]): MapEdge[] {
  const subjectOf = (edge: MapEdge) =>
    edge.kind === 'publish' ? edge.to : edge.kind === 'consume' ? edge.from : '';
  return edges.sort(
    (a, b) =>
      kindOrder[a.kind] - kindOrder[b.kind] ||
      // Publishers, then consumers, of subjects in the order their first publisher calls them.
      subjectOf(a).localeCompare(subjectOf(b)) ||
      (a.kind === b.kind ? 0 : a.kind === 'publish' ? -1 : 1) ||
      a.from.localeCompare(b.from) ||
      a.to.localeCompare(b.to),
  );
}

function stats(durations: readonly number[], errors: number): EdgeStats {
  return {
    calls: durations.length,
    errors,
    p50Ms: percentile(durations, 0.5),
    p99Ms: percentile(durations, 0.99),
  };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** One stretch of an order's critical path: a span running, or waiting after it ended. */
export interface PathStep {
  readonly span: TraceSpan;
  readonly startMs: number;
  readonly endMs: number;
  /** The span had ended: the time went to what it set off but had not started yet (queues, relays). */
  readonly waiting: boolean;
}

export interface CriticalPath {
  readonly traceId: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly steps: readonly PathStep[];
}

export interface OrderPaths {
  /** The critical path of the order's slowest trace (first span to last). */
  readonly slowest: CriticalPath;
  /** The order's other traces (status reads, retries), slowest first. */
  readonly others: readonly { traceId: string; root: TraceSpan; durationMs: number }[];
}

/**
 * The critical path of the slowest trace that has a span naming the order (`order.id` by default):
 * walking back from the span that ended last, at each span the child that finished last before the
 * point reached (Jaeger's algorithm). A span's subtree counts until its last descendant ended, so a
 * saga's asynchronous steps (publish → consume) are on the path, with the waits between them.
 */
export function orderCriticalPath(
  spans: readonly TraceSpan[],
  orderId: string,
  attribute = 'order.id',
): OrderPaths | undefined {
  const traceIds = new Set(
    spans.filter((s) => s.attributes[attribute] === orderId).map((s) => s.traceId),
  );
  if (traceIds.size === 0) return undefined;
  const traces = [...traceIds].map((traceId) => {
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const startMs = Math.min(...inTrace.map((s) => s.startMs));
    const endMs = Math.max(...inTrace.map((s) => s.endMs));
    return { traceId, spans: inTrace, durationMs: endMs - startMs };
  });
  traces.sort((a, b) => b.durationMs - a.durationMs);
  const [slowest, ...others] = traces;
  return {
    slowest: criticalPath(slowest!.spans),
    others: others.map((t) => ({
      traceId: t.traceId,
      root: rootsOf(t.spans)[0]!,
      durationMs: t.durationMs,
    })),
  };
}

function rootsOf(spans: readonly TraceSpan[]): TraceSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans
    .filter((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId))
    .sort((a, b) => a.startMs - b.startMs);
}

/** The critical path through one trace's spans. */
export function criticalPath(spans: readonly TraceSpan[]): CriticalPath {
  const children = new Map<string, TraceSpan[]>();
  for (const span of spans) {
    if (span.parentSpanId === undefined) continue;
    const list = children.get(span.parentSpanId) ?? [];
    list.push(span);
    children.set(span.parentSpanId, list);
  }
  const subtreeEnd = new Map<string, number>();
  const endOf = (span: TraceSpan): number => {
    let end = subtreeEnd.get(span.spanId);
    if (end === undefined) {
      end = span.endMs;
      subtreeEnd.set(span.spanId, end);
      for (const child of children.get(span.spanId) ?? []) end = Math.max(end, endOf(child));
      subtreeEnd.set(span.spanId, end);
    }
    return end;
  };
  const roots = rootsOf(spans);
  const root = roots.reduce((a, b) => (endOf(b) > endOf(a) ? b : a), roots[0]!);

  const backwards: PathStep[] = [];
  const own = (span: TraceSpan, from: number, to: number) => {
    // Walking backwards: the later part first.
    if (to > span.endMs && from < to)
      backwards.push({ span, startMs: Math.max(from, span.endMs), endMs: to, waiting: true });
    if (from < Math.min(to, span.endMs))
      backwards.push({ span, startMs: from, endMs: Math.min(to, span.endMs), waiting: false });
  };
  const walk = (span: TraceSpan, until: number) => {
    let cursor = until;
    const remaining = [...(children.get(span.spanId) ?? [])];
    for (;;) {
      let best: TraceSpan | undefined;
      let bestEnd = -Infinity;
      for (const child of remaining) {
        if (child.startMs >= cursor) continue;
        const end = Math.min(endOf(child), cursor);
        if (end > bestEnd) {
          best = child;
          bestEnd = end;
        }
      }
      if (!best) break;
      remaining.splice(remaining.indexOf(best), 1);
      own(span, bestEnd, cursor);
      walk(best, bestEnd);
      cursor = Math.max(span.startMs, best.startMs);
      if (cursor <= span.startMs) break;
    }
    own(span, span.startMs, cursor);
  };
  walk(root, endOf(root));
  const steps = mergeSteps(backwards.reverse());
  return {
    traceId: root.traceId,
    startMs: root.startMs,
    endMs: endOf(root),
    steps,
  };
}

function mergeSteps(steps: readonly PathStep[]): PathStep[] {
  const merged: PathStep[] = [];
  for (const step of steps) {
    if (step.endMs <= step.startMs) continue;
    const last = merged[merged.length - 1];
    if (last && last.span === step.span && last.waiting === step.waiting) {
      merged[merged.length - 1] = { ...last, endMs: step.endMs };
    } else {
      merged.push(step);
    }
  }
  return merged;
}

/** The edges a path's spans were counted on. */
export function edgesOnPath(map: ServiceMap, path: CriticalPath): Set<string> {
  const edges = new Set<string>();
  for (const step of path.steps) {
    const edge = map.edgeOfSpan.get(spanKey(step.span));
    if (edge !== undefined) edges.add(edge);
  }
  return edges;
}
