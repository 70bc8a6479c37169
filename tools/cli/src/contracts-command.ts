import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  diffOpenApi,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  parseServiceConfig,
  platformConfigSchema,
  type ConfigDocument,
  type ContractDiff,
} from '@orderly/platform';
import { serviceNames, services } from '@orderly/system';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import {
  contractsCallersCommand,
  contractsDiffCommand,
  contractsImpactCommand,
} from './commands.js';
import {
  buildContractGraph,
  findBreaks,
  formatImpactMermaid,
  formatImpactText,
} from './contract-impact.js';
import { operatorTarget } from './operator-ports.js';
import {
  ProtoBuildError,
  buildDescriptors,
  diffProtoVersions,
  producersWithVersions,
  type ProtoDiff,
} from './proto-diff.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const versionPattern = /^[1-9][0-9]{0,2}$/;

interface OpenApiOptions {
  url?: string;
  'openapi-from'?: string;
  'openapi-to'?: string;
}

type Spec = typeof contractsDiffCommand | typeof contractsImpactCommand;

/**
 * `orderly contracts diff --from 1 --to 2`: the public API's changes (diffOpenApi over the gateway's
 * per-version documents) and the protobuf side (each producer's v<from> package against v<to>).
 */
export async function runContractsDiff(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(contractsDiffCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { from, to, json } = args.values;
  if (from === undefined || to === undefined)
    return usageFailure(contractsDiffCommand, 'missing --from <n> or --to <n>', io);
  const bad = [from, to].find((version) => !versionPattern.test(version));
  if (bad !== undefined)
    return usageFailure(contractsDiffCommand, `'${bad}' is not a version number (1, 2, ...)`, io);
  const sourceProblem = checkOpenApiOptions(contractsDiffCommand, args.values, io);
  if (sourceProblem !== undefined) return sourceProblem;
  const document = loadConfigDocument({ argv: args.configArgv });

  let proto: ProtoDiff[];
  try {
    proto = protoDiffs(from, to);
  } catch (error) {
    if (!(error instanceof ProtoBuildError)) throw error;
    io.err(`${contractsDiffCommand.name}: ${error.message}\n`);
    return 1;
  }
  const openapi = await openApiDiff(args.values, document, from, to);
  if (json) {
    io.out(
      `${JSON.stringify({ openapi: 'problem' in openapi ? openapi : openapi.diff, proto }, null, 2)}\n`,
    );
  } else {
    io.out(formatOpenApiDiff(openapi, from, to));
    io.out(formatProtoDiffs(proto, from, to));
  }
  if ('problem' in openapi) {
    io.err(`${contractsDiffCommand.name}: ${openapi.problem}\n`);
    return 1;
  }
  return 0;
}

/** `orderly contracts impact [--diff 1:2]`: who produces and consumes what, and what a diff breaks. */
export async function runContractsImpact(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(contractsImpactCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { diff, json } = args.values;
  const versions =
    diff === undefined ? undefined : /^([1-9][0-9]{0,2}):([1-9][0-9]{0,2})$/.exec(diff);
  if (diff !== undefined && !versions)
    return usageFailure(
      contractsImpactCommand,
      `--diff '${diff}' is not <from>:<to> (e.g. 1:2)`,
      io,
    );
  const sourceProblem = checkOpenApiOptions(contractsImpactCommand, args.values, io);
  if (sourceProblem !== undefined) return sourceProblem;
  const document = loadConfigDocument({ argv: args.configArgv });

  let registry;
  try {
    registry = buildDescriptors(repoRoot);
  } catch (error) {
    if (!(error instanceof ProtoBuildError)) throw error;
    io.err(`${contractsImpactCommand.name}: ${error.message}\n`);
    return 1;
  }
  const { openApiDocument } = await import('@orderly/gateway/openapi-document');
  const graph = buildContractGraph({
    repoRoot,
    services: serviceNames,
    registry,
    rpcCallers: (service) => rpcCallersOf(document, service),
    openApi: (await openApiDocument()) as object,
  });

  let breaks: ReturnType<typeof findBreaks> = [];
  let problem: string | undefined;
  if (versions) {
    const [, from = '', to = ''] = versions;
    const proto = producersWithVersions(registry, from, to).map((producer) =>
      diffProtoVersions(registry, producer, from, to),
    );
    const openapi = await openApiDiff(args.values, document, from, to);
    if ('problem' in openapi) problem = openapi.problem;
    breaks = findBreaks(graph, proto, 'problem' in openapi ? undefined : openapi.diff);
  }
  if (json) {
    io.out(`${JSON.stringify({ graph, breaks, ...(problem ? { problem } : {}) }, null, 2)}\n`);
  } else {
    io.out('```mermaid\n');
    io.out(formatImpactMermaid(graph, breaks));
    io.out('```\n\n');
    io.out(
      formatImpactText(graph, breaks, versions ? `${versions[1]} → ${versions[2]}` : undefined),
    );
  }
  if (problem !== undefined) {
    io.err(`${contractsImpactCommand.name}: the public API side is missing: ${problem}\n`);
    return 1;
  }
  return 0;
}

interface CallersReport {
  versions: { version: string; lifecycle: string; sunset?: string; successor?: string }[];
  /** Routes deprecated or retired on their own (`contract.routes`); absent from older gateways. */
  routes?: { route: string; lifecycle: string; sunset?: string; successor?: string }[];
  callers: {
    caller: string;
    version: string;
    route: string;
    calls: number;
    firstSeenAt: string;
    lastSeenAt: string;
    /** Set when the route itself was deprecated or retired at the caller's last call. */
    routeLifecycle?: string;
  }[];
}

/** The callers' `GET /v1/orders/:orderId` as the routes' key `GET /v1/orders/{orderId}`. */
const routeKeyOf = (route: string) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * `orderly contracts callers`: who still calls a deprecated or retired version or route, from the
 * gateway's operator port (GET /admin/contracts/callers, as the operator workload). Exit 0 none,
 * 1 some.
 */
export async function runContractsCallers(argv: readonly string[], io: CommandIo): Promise<number> {
  const spec = contractsCallersCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const document = loadConfigDocument({ argv: args.configArgv });
  const target = operatorTarget(document, 'gateway');
  if ('problem' in target && args.values.url === undefined)
    return usageFailure(spec, target.problem, io);
  const base = args.values.url ?? ('url' in target ? target.url : '');
  const identity = await openIdentity(
    operatorWorkload,
    parseConfigSection(platformConfigSchema, document.document),
  );
  let report: CallersReport;
  try {
    const response = await fetch(`${base.replace(/\/$/, '')}/admin/contracts/callers`, {
      headers: { authorization: await identity.authorization('gateway') },
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string };
      };
      io.err(
        `${spec.name}: ${base} answered ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}\n`,
      );
      return 3;
    }
    report = (await response.json()) as CallersReport;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    io.err(`${spec.name}: cannot reach ${base}: ${cause?.code ?? String(error)}\n`);
    return 3;
  }
  const closing = new Map(
    report.versions
      .filter((version) => version.lifecycle === 'deprecated' || version.lifecycle === 'retired')
      .map((version) => [version.version, version] as const),
  );
  const closingRoutes = new Map(
    (report.routes ?? []).map((route) => [route.route, route] as const),
  );
  const remaining = report.callers.filter(
    (caller) => closing.has(caller.version) || closingRoutes.has(routeKeyOf(caller.route)),
  );
  if (args.values.json) {
    io.out(`${JSON.stringify({ ...report, remaining: remaining.length }, null, 2)}\n`);
  } else {
    io.out(formatCallers(report, remaining, closing, closingRoutes));
  }
  return remaining.length > 0 ? 1 : 0;
}

function formatCallers(
  report: CallersReport,
  remaining: CallersReport['callers'],
  closing: Map<string, CallersReport['versions'][number]>,
  closingRoutes: Map<string, NonNullable<CallersReport['routes']>[number]>,
): string {
  const lines = ['Versions'];
  for (const version of report.versions) {
    const extra = [
      version.sunset ? `sunset ${version.sunset}` : '',
      version.successor ? `successor ${version.successor}` : '',
    ].filter((part) => part !== '');
    lines.push(
      `  ${version.version}  ${version.lifecycle.padEnd(10)} ${extra.join('  ')}`.trimEnd(),
    );
  }
  if (closingRoutes.size > 0) {
    lines.push('', 'Routes');
    for (const route of closingRoutes.values()) {
      const extra = [
        route.sunset ? `sunset ${route.sunset}` : '',
        route.successor ? `successor ${route.successor}` : '',
      ].filter((part) => part !== '');
      lines.push(`  ${route.route}  ${route.lifecycle.padEnd(10)} ${extra.join('  ')}`.trimEnd());
    }
  }
  lines.push('');
  if (remaining.length === 0) {
    lines.push(
      `No caller remains on a deprecated or retired version${closingRoutes.size > 0 ? ' or route' : ''}.`,
    );
    return `${lines.join('\n')}\n`;
  }
  const header = ['CALLER', 'VERSION', 'ROUTE', 'CALLS', 'FIRST SEEN', 'LAST SEEN'];
  const rows = remaining.map((caller) => [
    caller.caller,
    caller.version,
    caller.route,
    String(caller.calls),
    caller.firstSeenAt,
    caller.lastSeenAt,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of [header, ...rows]) {
    lines.push(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
  const byVersion = new Map<string, Set<string>>();
  const byRoute = new Map<string, Set<string>>();
  for (const caller of remaining) {
    const route = routeKeyOf(caller.route);
    if (closingRoutes.has(route))
      byRoute.set(route, (byRoute.get(route) ?? new Set()).add(caller.caller));
    if (!closing.has(caller.version)) continue;
    const set = byVersion.get(caller.version) ?? new Set<string>();
    set.add(caller.caller);
    byVersion.set(caller.version, set);
  }
  lines.push('');
  for (const [version, callers] of byVersion) {
    const info = closing.get(version);
    lines.push(
      `${callers.size} caller${callers.size === 1 ? '' : 's'} still on version ${version} (${info?.lifecycle ?? '?'}${info?.sunset ? `, sunset ${info.sunset}` : ''}${info?.successor ? `; move to ${info.successor}` : ''}).`,
    );
  }
  for (const [route, callers] of byRoute) {
    const info = closingRoutes.get(route);
    lines.push(
      `${callers.size} caller${callers.size === 1 ? '' : 's'} still on route ${route} (${info?.lifecycle ?? '?'}${info?.sunset ? `, sunset ${info.sunset}` : ''}${info?.successor ? `; move to ${info.successor}` : ''}).`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function checkOpenApiOptions(
  spec: Spec,
  values: OpenApiOptions,
  io: CommandIo,
): number | undefined {
  const given = [values['openapi-from'], values['openapi-to']].filter((v) => v !== undefined);
  if (given.length === 1)
    return usageFailure(spec, '--openapi-from and --openapi-to go together', io);
  if (given.length === 2 && values.url !== undefined)
    return usageFailure(spec, '--url or --openapi-from/--openapi-to, not both', io);
  return undefined;
}

function protoDiffs(from: string, to: string): ProtoDiff[] {
  const registry = buildDescriptors(repoRoot);
  return producersWithVersions(registry, from, to).map((producer) =>
    diffProtoVersions(registry, producer, from, to),
  );
}

/** Reads both OpenAPI documents (files, URLs, or the gateway's /openapi/v<n>.json) and diffs them. */
async function openApiDiff(
  values: OpenApiOptions,
  document: ConfigDocument,
  from: string,
  to: string,
): Promise<{ diff: ContractDiff; source: string } | { problem: string }> {
  let locations: [string, string];
  if (values['openapi-from'] !== undefined && values['openapi-to'] !== undefined) {
    locations = [values['openapi-from'], values['openapi-to']];
  } else {
    const base = (values.url ?? gatewayUrl(document)).replace(/\/$/, '');
    locations = [`${base}/openapi/v${from}.json`, `${base}/openapi/v${to}.json`];
  }
  const [before, after] = await Promise.all(locations.map(readDocument));
  const failed = [before, after].find((read) => 'problem' in read!);
  if (failed && 'problem' in failed) return { problem: failed.problem };
  const diff = diffOpenApi(
    (before as { value: object }).value,
    (after as { value: object }).value,
    {
      from,
      to,
    },
  );
  return { diff, source: `${locations[0]} → ${locations[1]}` };
}

async function readDocument(location: string): Promise<{ value: object } | { problem: string }> {
  try {
    const text = /^https?:\/\//.test(location)
      ? await fetchText(location)
      : readFileSync(location, 'utf8');
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || !('paths' in value))
      return { problem: `${location} is not an OpenAPI document (no paths)` };
    return { value };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { problem: `cannot read ${location}: ${cause?.code ?? (error as Error).message}` };
  }
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.text();
}

function gatewayUrl(document: ConfigDocument): string {
  const definition = services.find((service) => service.name === 'gateway');
  const section = parseServiceConfig(document, 'gateway', definition!.configSchema).service as {
    host: string;
    port: number;
  };
  return `http://${section.host}:${section.port}`;
}

function rpcCallersOf(
  document: ConfigDocument,
  service: string,
): Record<string, readonly string[]> {
  const definition = services.find((candidate) => candidate.name === service);
  if (!definition) return {};
  const section = parseServiceConfig(document, service, definition.configSchema).service as {
    rpcCallers?: Record<string, readonly string[]>;
  };
  return section.rpcCallers ?? {};
}

function formatOpenApiDiff(
  result: { diff: ContractDiff; source: string } | { problem: string },
  from: string,
  to: string,
): string {
  const lines = [`Public API (OpenAPI) ${from} → ${to}`];
  if ('problem' in result) {
    lines.push(`  not compared: ${result.problem}`);
    return `${lines.join('\n')}\n\n`;
  }
  const { diff } = result;
  lines.push(`  ${result.source}`);
  if (diff.changes.length === 0) lines.push('  no changes');
  // The same change on many operations (a header every route takes) is one line naming them.
  const groups = new Map<string, ContractDiff['changes']>();
  for (const change of diff.changes) {
    const key = JSON.stringify([
      change.kind,
      change.target,
      change.breaking,
      change.path.split(' ').slice(2).join(' '),
      change.detail,
    ]);
    groups.set(key, [...(groups.get(key) ?? []), change]);
  }
  const mark = (change: ContractDiff['changes'][number]) =>
    `  ${change.breaking ? 'BREAKING' : '        '}  ${change.kind.padEnd(7)}  `;
  const where = (change: ContractDiff['changes'][number]) =>
    `${change.location === change.target ? change.target : `${change.location} ${change.target}`}: ${change.detail}`;
  for (const changes of groups.values()) {
    const [first] = changes;
    if (!first) continue;
    if (changes.length < 3) {
      for (const change of changes) lines.push(`${mark(change)}${change.path}  (${where(change)})`);
      continue;
    }
    const operations = changes.map((change) => change.path.split(' ').slice(0, 2).join(' '));
    lines.push(
      `${mark(first)}${first.path.split(' ').slice(2).join(' ')} on ${changes.length} operations  (${where(first)})`,
      `            ${operations.join(', ')}`,
    );
  }
  const breaking = diff.changes.filter((change) => change.breaking).length;
  lines.push(`  ${diff.changes.length} change(s), ${breaking} breaking`);
  return `${lines.join('\n')}\n\n`;
}

function formatProtoDiffs(diffs: readonly ProtoDiff[], from: string, to: string): string {
  const lines = [`Events and RPCs (protobuf) v${from} → v${to}`];
  if (diffs.length === 0) lines.push(`  no producer has both v${from} and v${to}`);
  for (const diff of diffs) {
    lines.push(`  ${diff.from} → ${diff.to} (files: ${diff.files.join(', ') || 'none in common'})`);
    for (const change of diff.changes) {
      lines.push(
        `  ${change.breaking ? 'BREAKING' : '        '}  ${change.kind.padEnd(7)}  ${change.path}  (${change.detail})`,
      );
    }
    const breaking = diff.changes.filter((change) => change.breaking).length;
    lines.push(`  ${diff.changes.length} change(s), ${breaking} breaking`);
  }
  return `${lines.join('\n')}\n`;
}
