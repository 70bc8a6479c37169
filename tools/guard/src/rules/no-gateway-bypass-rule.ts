import ts from 'typescript';
import type { CallGraph } from '../analysis/call-graph.ts';
import { skipOuter } from '../analysis/origins.ts';
import type { RawFinding } from '../finding.ts';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { RepoModel } from '../repo-model.ts';
import type { RuleContext } from '../rule-context.ts';

const rule = 'no-gateway-bypass';
/** Stands for a value computed at run time inside a URL. */
const dynamicMark = '\uFFFF';

interface Contract {
  /** Route patterns: `/order.v1.OrderService/PlaceOrder`, `/orders/{id}`. */
  routes: string[];
  sources: string[];
}

/**
 * An HTTP call from one service to another must use a route of the callee's declared contract:
 * its proto RPCs (`/<package>.<Service>/<Method>`) or the paths of its OpenAPI document. Anything
 * else (an operator port, an internal or admin route, a route the callee never declared) goes
 * around the gateway and the contract gate. Connect/gRPC clients built from a contract are
 * contract calls by construction; health probes (`gateway.allowedPaths`) are allowed.
 */
export function noGatewayBypassRule(context: RuleContext): RawFinding[] {
  const graph = context.callGraph();
  const { model, config } = context;
  const contracts = declaredContracts(model);
  const findings: RawFinding[] = [];
  const reported = new Set<string>();
  for (const file of graph.files) {
    const caller = model.serviceOf(file);
    if (!caller) continue;
    for (const trace of graph.tracesIn(context.index.get(file).sourceFile, () => false)) {
      const callee = trace.target.service;
      if (trace.outbound.kind !== 'http' || !callee || callee === caller.name) continue;
      const last = trace.hops.at(-1);
      const path = pathOf(graph, trace.outboundCall);
      if (!last || path === undefined) continue;
      if (
        config.gateway.allowedPaths.some(
          (allowed) => path === allowed || path.startsWith(`${allowed}?`),
        )
      )
        continue;
      const contract = contracts.get(callee);
      if (contract?.routes.some((route) => routeMatches(route, path))) continue;
      const key = `${last.at.file}:${last.at.line}:${last.at.column}:${callee}`;
      if (reported.has(key)) continue;
      reported.add(key);
      const declared = contract
        ? `it is not among the ${contract.routes.length} routes of ${callee}'s contract (${contract.sources.join(', ')})`
        : `${callee} declares no contract (no proto service, no OpenAPI document)`;
      findings.push({
        rule,
        ...last.at,
        message: `${caller.name} calls ${callee}'s route ${path} directly (${last.label}); ${declared}`,
        fix: `Call ${callee} through its contract (a generated client for its RPCs) or through the gateway; if the route is meant for other services, declare it in ${callee}'s contract.`,
        ...(trace.hops.length > 1
          ? {
              related: trace.hops
                .slice(0, -1)
                .map((hop) => ({ ...hop.at, message: `via ${hop.label}` })),
            }
          : {}),
      });
    }
  }
  return findings;
}

/** The literal path a call requests: `/reservations` from `${base}/reservations`, dynamic parts as `*`. */
function pathOf(graph: CallGraph, call: ts.CallExpression): string | undefined {
  const [first] = call.arguments;
  if (!first) return undefined;
  return pathOfExpression(graph, first, 0);
}

function pathOfExpression(
  graph: CallGraph,
  node: ts.Expression,
  depth: number,
): string | undefined {
  const expression = skipOuter(node);
  if (depth > 4) return undefined;
  if (ts.isStringLiteralLike(expression)) return pathOfText(expression.text);
  if (ts.isTemplateExpression(expression)) {
    const text =
      expression.head.text +
      expression.templateSpans.map((span) => `${dynamicMark}${span.literal.text}`).join('');
    return pathOfText(text);
  }
  if (
    ts.isBinaryExpression(expression) &&
    expression.operatorToken.kind === ts.SyntaxKind.PlusToken
  ) {
    const parts: string[] = [];
    const collect = (part: ts.Expression): void => {
      const inner = skipOuter(part);
      if (ts.isBinaryExpression(inner) && inner.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        collect(inner.left);
        collect(inner.right);
      } else parts.push(ts.isStringLiteralLike(inner) ? inner.text : dynamicMark);
    };
    collect(expression);
    return pathOfText(parts.join(''));
  }
  if (ts.isNewExpression(expression) && expression.expression.getText() === 'URL') {
    const [path] = expression.arguments ?? [];
    return path ? pathOfExpression(graph, path, depth + 1) : undefined;
  }
  if (ts.isIdentifier(expression)) {
    const declaration = graph.guard.checker.getSymbolAtLocation(expression)?.valueDeclaration;
    if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer)
      return pathOfExpression(graph, declaration.initializer, depth + 1);
  }
  return undefined;
}

/**
 * `http://catalogue:8080/product/·` → `/product/*`; `·/reservations` → `/reservations`.
 * `·` (dynamicMark) marks a dynamic part: before the first `/` it is the host, after it a path segment.
 */
function pathOfText(text: string): string | undefined {
  let rest = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  if (slash > 0 || !text.startsWith('/')) rest = rest.slice(slash);
  const path = rest.split('?')[0]?.replaceAll(dynamicMark, '*') ?? '';
  return path.startsWith('/') && path !== '/' ? path : undefined;
}

function routeMatches(route: string, path: string): boolean {
  const pattern = route
    .split('/')
    .map((segment) =>
      /^\{.*\}$|^:/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  const concrete = path.replace(/\*/g, 'x');
  return new RegExp(`^${pattern}/?$`).test(concrete);
}

/** Proto RPC routes and OpenAPI paths per service (a contract package counts for the service it is named after). */
function declaredContracts(model: RepoModel): Map<string, Contract> {
  const contracts = new Map<string, Contract>();
  const add = (service: string, routes: string[], source: string): void => {
    if (routes.length === 0) return;
    const contract = contracts.get(service) ?? { routes: [], sources: [] };
    contract.routes.push(...routes);
    contract.sources.push(source);
    contracts.set(service, contract);
  };
  for (const file of model.files) {
    if (file.endsWith('.proto')) {
      const owner = model.contractOwnerOf(file) ?? model.serviceOf(file)?.name;
      if (owner) add(owner, protoRoutes(model.readText(file)), file);
    } else if (matchesAnyGlob(file, model.config.gateway.openapi)) {
      const owner =
        model.serviceOf(file)?.name ?? model.contractOwnerOf(file) ?? contractDirOwner(model, file);
      if (owner) add(owner, openApiPaths(model.readText(file)), file);
    }
  }
  return contracts;
}

/** `contracts/<svc>/openapi.yaml` belongs to `<svc>` when such a service exists. */
function contractDirOwner(model: RepoModel, file: string): string | undefined {
  const segments = file.split('/');
  return segments.find((segment) => model.serviceByName(segment) !== undefined);
}

function protoRoutes(text: string): string[] {
  const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const pkg = /\bpackage\s+([\w.]+)\s*;/.exec(code)?.[1];
  const routes: string[] = [];
  for (const service of code.matchAll(/\bservice\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
    for (const method of (service[2] ?? '').matchAll(/\brpc\s+(\w+)\s*\(/g)) {
      routes.push(`/${pkg ? `${pkg}.` : ''}${service[1]}/${method[1]}`);
    }
  }
  return routes;
}

function openApiPaths(text: string): string[] {
  if (text.trimStart().startsWith('{')) {
    try {
      const document = JSON.parse(text) as { paths?: Record<string, unknown> };
      return Object.keys(document.paths ?? {});
    } catch {
      return [];
    }
  }
  const paths: string[] = [];
  let inPaths = false;
  for (const line of text.split('\n')) {
    if (/^paths:\s*$/.test(line)) inPaths = true;
    else if (/^\S/.test(line)) inPaths = false;
    else if (inPaths) {
      const match = /^\s{2}['"]?(\/[^'":]*)['"]?:\s*$/.exec(line);
      if (match?.[1]) paths.push(match[1]);
    }
  }
  return paths;
}
