import type {
  CriticalPath,
  EdgeKind,
  EdgeStats,
  MapEdge,
  OrderPaths,
  PathStep,
  ServiceMap,
} from './service-map.js';

/** `orderly map` as text (a table of edges, then the order's critical path) or as a Mermaid flowchart. */
export interface MapView {
  readonly map: ServiceMap;
  readonly orderId?: string | undefined;
  readonly paths?: OrderPaths | undefined;
  /** Edges on the order's critical path, highlighted. */
  readonly highlighted: ReadonlySet<string>;
}

const kindLabel: Record<EdgeKind, string> = {
  http: 'HTTP',
  rpc: 'RPC',
  publish: 'publish',
  consume: 'consume',
  db: 'SQL',
};

const ms = (value: number | undefined) =>
  value === undefined || Number.isNaN(value)
    ? ''
    : value >= 100
      ? value.toFixed(0)
      : value.toFixed(1);
const percent = (stats: EdgeStats) =>
  stats.calls === 0 ? '' : `${((100 * stats.errors) / stats.calls).toFixed(1)} %`;

function nodeLabel(map: ServiceMap, id: string): string {
  const node = map.nodes.find((n) => n.id === id);
  if (!node) return id;
  return node.kind === 'subject' ? `[${node.label}]` : node.label;
}

/** One row per edge and one indented row per operation when an edge has several. */
export function formatMapText(view: MapView): string {
  const { map } = view;
  const rows: string[][] = [
    ['', 'edge', 'kind', 'calls', 'errors', 'p50 ms', 'p99 ms', 'wait p99 ms'],
  ];
  for (const edge of map.edges) {
    const mark = view.highlighted.has(edge.id) ? '*' : '';
    rows.push([
      mark,
      `${nodeLabel(map, edge.from)} → ${nodeLabel(map, edge.to)}`,
      kindLabel[edge.kind],
      String(edge.stats.calls),
      percent(edge.stats),
      ms(edge.stats.p50Ms),
      ms(edge.stats.p99Ms),
      ms(edge.waitP99Ms),
    ]);
    if (edge.operations.length > 1 || (edge.kind !== 'publish' && edge.kind !== 'db'))
      for (const op of edge.operations)
        rows.push([
          '',
          `    ${op.name}`,
          '',
          String(op.stats.calls),
          percent(op.stats),
          ms(op.stats.p50Ms),
          ms(op.stats.p99Ms),
          '',
        ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const numeric = new Set([3, 4, 5, 6, 7]);
  const table = rows.map((row) =>
    row
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
  const lines = [
    `Service map: ${map.spanCount} spans in ${map.traceCount} traces; ${map.edges.length} edges`,
    '',
    ...table,
    '',
    'HTTP/RPC: client → server (duration seen by the caller); publish: producer → [subject];',
    'consume: [subject] → consumer (subscription), wait = publish start → processing start;',
    'SQL: service → its database (one row per statement summary).',
  ];
  if (view.orderId !== undefined && view.paths) {
    lines.push('', ...formatPath(view.orderId, view.paths));
    lines.push('', '* = an edge on the critical path above.');
  }
  return `${lines.join('\n')}\n`;
}

/** One row per span on the path (its running time on the path), and one per wait after a span. */
function formatPath(orderId: string, paths: OrderPaths): string[] {
  const path = paths.slowest;
  const total = path.endMs - path.startMs;
  const lines = [
    `Critical path of order ${orderId}: trace ${path.traceId}, ${ms(total)} ms from its first span to its last`,
    '',
  ];
  const rows = new Map<string, { step: PathStep; onPathMs: number }>();
  for (const step of path.steps) {
    const key = `${step.span.spanId}/${String(step.waiting)}`;
    const row = rows.get(key);
    if (row) row.onPathMs += step.endMs - step.startMs;
    else rows.set(key, { step, onPathMs: step.endMs - step.startMs });
  }
  const table = [['at ms', 'on path ms', 'share', 'span ms', 'service', 'span']];
  for (const { step, onPathMs } of rows.values()) {
    table.push([
      `+${ms(step.startMs - path.startMs)}`,
      ms(onPathMs),
      `${((onPathMs / total) * 100).toFixed(0)} %`,
      step.waiting ? '' : ms(step.span.endMs - step.span.startMs),
      step.span.service,
      step.waiting ? `(waiting after ${step.span.name})` : step.span.name,
    ]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table)
    lines.push(
      `  ${row
        .map((cell, column) =>
          column < 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
        )
        .join('  ')
        .trimEnd()}`,
    );
  lines.push('', `  by service: ${shareByService(path)}`);
  if (paths.others.length > 0) {
    const names = new Map<string, { count: number; maxMs: number }>();
    for (const other of paths.others) {
      const entry = names.get(other.root.name) ?? { count: 0, maxMs: 0 };
      entry.count++;
      entry.maxMs = Math.max(entry.maxMs, other.durationMs);
      names.set(other.root.name, entry);
    }
    lines.push(
      `  the order's other traces: ${[...names.entries()]
        .map(([name, entry]) => `${name} ×${entry.count} (longest ${ms(entry.maxMs)} ms)`)
        .join(', ')}`,
    );
  }
  return lines;
}

function shareByService(path: CriticalPath): string {
  const total = path.endMs - path.startMs;
  const shares = new Map<string, number>();
  for (const step of path.steps) {
    const key = step.waiting ? 'waiting' : step.span.service;
    shares.set(key, (shares.get(key) ?? 0) + step.endMs - step.startMs);
  }
  return [...shares.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => `${key} ${ms(value)} ms (${((value / total) * 100).toFixed(0)} %)`)
    .join(', ');
}

/** A Mermaid flowchart: services as boxes, subjects as queues, databases as cylinders. */
export function formatMapMermaid(view: MapView): string {
  const { map } = view;
  const ids = new Map(map.nodes.map((node, index) => [node.id, `n${index}`]));
  const quote = (label: string) => `"${label.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart LR'];
  for (const node of map.nodes) {
    const id = ids.get(node.id)!;
    const label = quote(node.label);
    const shape =
      node.kind === 'client'
        ? `([${label}])`
        : node.kind === 'subject'
          ? `>${label}]`
          : node.kind === 'database'
            ? `[(${label})]`
            : `[${label}]`;
    lines.push(`  ${id}${shape}`);
  }
  const highlighted: number[] = [];
  map.edges.forEach((edge: MapEdge, index) => {
    const arrow =
      edge.kind === 'db' ? '-.->' : edge.kind === 'rpc' || edge.kind === 'http' ? '==>' : '-->';
    const stats = `${edge.stats.calls} calls, ${percent(edge.stats)} errors, p99 ${ms(edge.stats.p99Ms)} ms`;
    const wait = edge.waitP99Ms === undefined ? '' : `, wait p99 ${ms(edge.waitP99Ms)} ms`;
    lines.push(
      `  ${ids.get(edge.from)!} ${arrow}|${quote(`${kindLabel[edge.kind]}: ${stats}${wait}`)}| ${ids.get(edge.to)!}`,
    );
    if (view.highlighted.has(edge.id)) highlighted.push(index);
  });
  if (highlighted.length > 0)
    lines.push(`  linkStyle ${highlighted.join(',')} stroke:#d62728,stroke-width:4px`);
  if (view.orderId !== undefined && view.paths) {
    lines.push(
      `  %% red: the critical path of order ${view.orderId} (trace ${view.paths.slowest.traceId}, ${ms(view.paths.slowest.endMs - view.paths.slowest.startMs)} ms)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
