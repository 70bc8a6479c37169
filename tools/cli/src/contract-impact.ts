import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DescMessage, FileRegistry } from '@bufbuild/protobuf';
import type { ContractDiff } from '@orderly/platform';
import type { ProtoDiff } from './proto-diff.js';

/** An event message, who publishes it (its contract's owner) and which services import it. */
export interface EventFlow {
  typeName: string;
  producer: string;
  consumers: string[];
  /** The messages and enums its fields use, at any depth (a changed enum breaks the event too). */
  uses: string[];
}

/** An RPC method, the service that serves it and the workloads its rpcCallers allow. */
export interface RpcFlow {
  method: string;
  server: string;
  callers: string[];
  /** Gateway routes (OpenAPI operations) answered through this RPC. */
  routes: string[];
  input: string;
  output: string;
  /** The types its request and response use, at any depth. */
  uses: string[];
  /** Its proto file and package: a diff breaks it only when it compares that file. */
  file: string;
  package: string;
}

export interface RouteFlow {
  /** `POST /v1/orders` */
  operation: string;
  operationId?: string;
  /** The RPC the gateway calls for it, when one has the operation's name. */
  rpc?: string;
}

export interface ContractGraph {
  services: string[];
  events: EventFlow[];
  rpcs: RpcFlow[];
  routes: RouteFlow[];
  /** consumer → producer → versions, from package.json `orderly.consumes`. */
  declarations: Record<string, Record<string, string[]>>;
}

/** Who a diff would break: an event's consumers, an RPC's callers, a route's clients. */
export interface Break {
  kind: 'event' | 'rpc' | 'route';
  subject: string;
  /** The services (or `public API clients`) that read or call it. */
  affected: string[];
  changes: string[];
}

export interface GraphSources {
  repoRoot: string;
  services: readonly string[];
  registry: FileRegistry;
  /** `services.<svc>.rpcCallers` of the configuration. */
  rpcCallers: (service: string) => Record<string, readonly string[]>;
  /** The gateway's OpenAPI document (the one it serves by default). */
  openApi: object;
}

const httpMethods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/**
 * The contract graph as the code declares it, read without starting anything: events are the
 * messages with an `event_id` in the producers' proto files, published by their contract's owner and
 * consumed by every other service that imports them from the contract package; RPCs and their
 * callers come from the descriptors and `rpcCallers`; routes from the OpenAPI document, tied to the
 * RPC of the same name (`placeOrder` → `PlaceOrder`) that the gateway may call.
 */
export function buildContractGraph(sources: GraphSources): ContractGraph {
  const { registry, repoRoot, services } = sources;
  const events = new Map<string, EventFlow>();
  const rpcs: RpcFlow[] = [];
  for (const file of registry.files) {
    const owner = ownerOf(file.proto.package, services);
    if (!owner) continue;
    for (const message of file.messages) {
      if (message.fields.some((field) => field.name === 'event_id')) {
        events.set(message.typeName, {
          typeName: message.typeName,
          producer: owner,
          consumers: [],
          uses: typesUsedBy(message),
        });
      }
    }
    for (const service of file.services) {
      const allowed = sources.rpcCallers(owner);
      for (const method of service.methods) {
        const name = `${service.typeName}/${method.name}`;
        rpcs.push({
          method: name,
          server: owner,
          callers: [...(allowed[name] ?? [])].sort(),
          routes: [],
          input: method.input.typeName,
          output: method.output.typeName,
          uses: [...new Set([...typesUsedBy(method.input), ...typesUsedBy(method.output)])],
          file: file.name.split('/').pop() ?? file.name,
          package: file.proto.package,
        });
      }
    }
  }

  const declarations: ContractGraph['declarations'] = {};
  for (const service of services) {
    const dir = join(repoRoot, 'services', service);
    const manifest = readJson(join(dir, 'package.json')) as {
      orderly?: { consumes?: Record<string, string[]> };
    };
    if (manifest?.orderly?.consumes) declarations[service] = manifest.orderly.consumes;
    for (const typeName of importedMessages(repoRoot, dir, service, registry)) {
      const event = events.get(typeName);
      if (event && event.producer !== service && !event.consumers.includes(service)) {
        event.consumers.push(service);
      }
    }
  }

  const routes: RouteFlow[] = [];
  const paths =
    (sources.openApi as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  for (const [path, item] of Object.entries(paths)) {
    for (const method of httpMethods) {
      const operation = item[method] as { operationId?: string } | undefined;
      if (!operation) continue;
      const label = `${method.toUpperCase()} ${path}`;
      const rpc = operation.operationId
        ? rpcs.find(
            (candidate) =>
              candidate.callers.includes('gateway') &&
              lowerFirst(candidate.method.split('/')[1] ?? '') === operation.operationId,
          )
        : undefined;
      rpc?.routes.push(label);
      routes.push({
        operation: label,
        ...(operation.operationId ? { operationId: operation.operationId } : {}),
        ...(rpc ? { rpc: rpc.method } : {}),
      });
    }
  }
  for (const event of events.values()) event.consumers.sort();
  return {
    services: [...services],
    events: [...events.values()].sort((a, b) => a.typeName.localeCompare(b.typeName)),
    rpcs: rpcs.sort((a, b) => a.method.localeCompare(b.method)),
    routes,
    declarations,
  };
}

/** What the diffs would break, traced through the graph. */
export function findBreaks(
  graph: ContractGraph,
  protoDiffs: readonly ProtoDiff[],
  openApiDiff: ContractDiff | undefined,
): Break[] {
  const breaks: Break[] = [];
  const changesByType = new Map<string, string[]>();
  for (const diff of protoDiffs) {
    for (const change of diff.changes) {
      // A message the new version does not have is not replaced by it: it stays in the old
      // version (the order service publishes RiskAssessmentRequested as v1 only), so nobody breaks.
      if (!change.breaking || (change.kind === 'removed' && change.target === 'message')) continue;
      const list = changesByType.get(change.typeName) ?? [];
      list.push(`${change.path.split(' ').pop() ?? change.path}: ${change.detail}`);
      changesByType.set(change.typeName, list);
    }
  }
  const changesOf = (types: readonly string[]) =>
    types.flatMap((type) => changesByType.get(type) ?? []);
  for (const event of graph.events) {
    const changes = changesOf([event.typeName, ...event.uses]);
    if (changes.length > 0) {
      breaks.push({ kind: 'event', subject: event.typeName, affected: event.consumers, changes });
    }
  }
  for (const rpc of graph.rpcs) {
    // An RPC whose file has no counterpart in the new version is not replaced by it: unaffected.
    const replaced = protoDiffs.some(
      (diff) => diff.from === rpc.package && diff.files.includes(rpc.file.replace(/\.proto$/, '')),
    );
    if (!replaced) continue;
    const changes = changesOf([rpc.input, rpc.output, ...rpc.uses]);
    if (changes.length > 0)
      breaks.push({ kind: 'rpc', subject: rpc.method, affected: rpc.callers, changes });
  }
  const routeChanges = new Map<string, string[]>();
  for (const change of openApiDiff?.changes ?? []) {
    if (!change.breaking) continue;
    const [method = '', path = '', ...rest] = change.path.split(' ');
    const operation = `${method} ${path}`;
    const list = routeChanges.get(operation) ?? [];
    list.push(`${rest.join(' ') || change.target}: ${change.detail}`);
    routeChanges.set(operation, list);
  }
  for (const [operation, changes] of routeChanges) {
    breaks.push({
      kind: 'route',
      subject: operation,
      affected: [`public API clients of version ${openApiDiff?.from ?? '?'}`],
      changes,
    });
  }
  return breaks;
}

/** The graph as Mermaid: routes → gateway → servers, producers → consumers; what breaks in red. */
export function formatImpactMermaid(graph: ContractGraph, breaks: readonly Break[]): string {
  const lines = ['flowchart LR', '  clients([public API clients])', '  operator([operator CLI])'];
  const brokenEdges: number[] = [];
  let edge = 0;
  const link = (from: string, to: string, label: string, broken: boolean) => {
    lines.push(label === '' ? `  ${from} --> ${to}` : `  ${from} -->|"${label}"| ${to}`);
    if (broken) brokenEdges.push(edge);
    edge += 1;
  };
  const brokenSubjects = new Set(breaks.map((item) => item.subject));
  for (const service of graph.services) lines.push(`  ${nodeId(service)}[${service}]`);
  // Routes in one box: one edge from the clients and one to the gateway keep the graph readable.
  lines.push('  subgraph routes [gateway routes]');
  graph.routes.forEach((route, index) => lines.push(`    route${index}["${route.operation}"]`));
  lines.push('  end');
  link('clients', 'routes', 'HTTP', false);
  link('routes', nodeId('gateway'), '', false);
  const brokenRoutes = graph.routes.flatMap((route, index) =>
    brokenSubjects.has(route.operation) ? [`route${index}`] : [],
  );
  const rpcEdges = new Map<string, { methods: string[]; broken: boolean }>();
  for (const rpc of graph.rpcs) {
    for (const caller of rpc.callers) {
      const key = `${caller}\u0000${rpc.server}`;
      const entry = rpcEdges.get(key) ?? { methods: [], broken: false };
      entry.methods.push(rpc.method.split('/')[1] ?? rpc.method);
      entry.broken ||= brokenSubjects.has(rpc.method);
      rpcEdges.set(key, entry);
    }
  }
  for (const [key, entry] of rpcEdges) {
    const [caller = '', server = ''] = key.split('\u0000');
    link(nodeId(caller), nodeId(server), `RPC ${entry.methods.join(', ')}`, entry.broken);
  }
  const eventEdges = new Map<string, { events: string[]; broken: boolean }>();
  for (const event of graph.events) {
    for (const consumer of event.consumers) {
      const key = `${event.producer}\u0000${consumer}`;
      const entry = eventEdges.get(key) ?? { events: [], broken: false };
      entry.events.push(event.typeName);
      entry.broken ||= brokenSubjects.has(event.typeName);
      eventEdges.set(key, entry);
    }
  }
  for (const [key, entry] of eventEdges) {
    const [producer = '', consumer = ''] = key.split('\u0000');
    link(nodeId(producer), nodeId(consumer), entry.events.join('<br>'), entry.broken);
  }
  for (const route of brokenRoutes) lines.push(`  style ${route} stroke:#d33,stroke-width:3px`);
  if (brokenEdges.length > 0) {
    lines.push(`  linkStyle ${brokenEdges.join(',')} stroke:#d33,stroke-width:3px`);
  }
  return `${lines.join('\n')}\n`;
}

function nodeId(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

export function formatImpactText(
  graph: ContractGraph,
  breaks: readonly Break[],
  diffLabel?: string,
): string {
  const lines: string[] = ['Events (producer → consumers that import them)'];
  const width = Math.max(...graph.events.map((event) => event.typeName.length), 10) + 2;
  for (const event of graph.events) {
    lines.push(
      `  ${event.typeName.padEnd(width)}${event.producer} → ${event.consumers.join(', ') || '(no consumer)'}`,
    );
  }
  lines.push('', 'Declared event versions (package.json orderly.consumes)');
  for (const [consumer, producers] of Object.entries(graph.declarations).sort()) {
    for (const [producer, versions] of Object.entries(producers)) {
      lines.push(`  ${consumer} reads ${producer} ${versions.join(', ')}`);
    }
  }
  lines.push('', 'RPCs (callers → server, gateway routes)');
  const rpcWidth = Math.max(...graph.rpcs.map((rpc) => rpc.method.length), 10) + 2;
  for (const rpc of graph.rpcs) {
    const routes = rpc.routes.length > 0 ? `  routes: ${rpc.routes.join(', ')}` : '';
    lines.push(
      `  ${rpc.method.padEnd(rpcWidth)}${rpc.callers.join(', ') || '(no caller allowed)'} → ${rpc.server}${routes}`,
    );
  }
  lines.push('', 'Gateway routes (OpenAPI)');
  const routeWidth = Math.max(...graph.routes.map((route) => route.operation.length), 10) + 2;
  for (const route of graph.routes) {
    lines.push(
      `  ${route.operation.padEnd(routeWidth)}${route.rpc ? `→ ${route.rpc}` : '(answered by the gateway itself or through the operator ports)'}`,
    );
  }
  if (diffLabel !== undefined) {
    lines.push('', `What ${diffLabel} would break`);
    if (breaks.length === 0)
      lines.push('  nothing: no breaking change reaches a consumer or caller');
    for (const item of breaks) {
      lines.push(
        `  ${item.kind} ${item.subject} → ${item.affected.join(', ') || '(nobody in this repository)'}`,
      );
      for (const change of item.changes) lines.push(`      ${change}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function typesUsedBy(root: DescMessage): string[] {
  const seen = new Set<string>();
  const visit = (message: DescMessage): void => {
    for (const field of message.fields) {
      const type =
        field.fieldKind === 'message' ||
        (field.fieldKind === 'list' && field.listKind === 'message') ||
        (field.fieldKind === 'map' && field.mapKind === 'message')
          ? field.message
          : field.fieldKind === 'enum' ||
              (field.fieldKind === 'list' && field.listKind === 'enum') ||
              (field.fieldKind === 'map' && field.mapKind === 'enum')
            ? field.enum
            : undefined;
      if (!type || seen.has(type.typeName) || type.typeName === root.typeName) continue;
      seen.add(type.typeName);
      if (type.kind === 'message') visit(type);
    }
  };
  visit(root);
  return [...seen].sort();
}

function ownerOf(pkg: string, services: readonly string[]): string | undefined {
  const producer = pkg.split('.')[0] ?? '';
  return services.includes(producer) ? producer : undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

const contractImport =
  /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]@orderly\/([a-z0-9-]+)-contract\/([^'"]+)['"]/g;

/**
 * The messages a service's source imports from contract packages (`OrderPlacedSchema` from
 * `@orderly/order-contract/order_events` → `order.v1.OrderPlaced`), resolved through the contract
 * package's `exports` to its generated file and so to the proto file.
 */
function importedMessages(
  repoRoot: string,
  serviceDir: string,
  service: string,
  registry: FileRegistry,
): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(join(serviceDir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const [, names = '', producer = '', subpath = ''] of text.matchAll(contractImport)) {
      if (producer === service) continue;
      const protoFile = protoFileOf(repoRoot, producer, subpath);
      const descriptor = protoFile ? registry.getFile(protoFile) : undefined;
      if (!descriptor) continue;
      for (const raw of names.split(',')) {
        const name = raw
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]
          ?.replace(/Schema$/, '');
        const message = descriptor.messages.find((candidate) => candidate.name === name);
        if (message) found.add(message.typeName);
      }
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** `order`, `v2/order_events` → `order/v2/order_events.proto`, through contracts/order/package.json exports. */
function protoFileOf(repoRoot: string, producer: string, subpath: string): string | undefined {
  const manifest = readJson(join(repoRoot, 'contracts', producer, 'package.json')) as
    { exports?: Record<string, string> } | undefined;
  const wanted = `./${subpath}`;
  const patterns = Object.entries(manifest?.exports ?? {})
    .filter(([key]) => key.includes('*'))
    .sort(([a], [b]) => b.length - a.length);
  for (const [key, target] of patterns) {
    const [prefix = '', suffix = ''] = key.split('*');
    if (!wanted.startsWith(prefix) || !wanted.endsWith(suffix)) continue;
    const star = wanted.slice(prefix.length, wanted.length - suffix.length);
    const generated = target.replace('*', star);
    const match = /^\.\/gen\/(.+)_pb\.ts$/.exec(generated);
    return match ? `${match[1]}.proto` : undefined;
  }
  return undefined;
}
