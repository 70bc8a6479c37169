import ts from 'typescript';
import { firstPerTarget, type CallGraph, type OutboundTrace } from '../analysis/call-graph.ts';
import type { RawFinding, SourceLocation } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import { calleeName, calleeText, isFunctionLike } from '../source-index.ts';

const rule = 'no-sync-call-chain';

/**
 * Finds handlers that make synchronous outbound calls to several services or endpoints, and
 * outbound calls made while a database transaction is open. Calls are resolved by the type
 * checker (helpers, client modules, class methods, interface-typed dependencies, re-exports);
 * an outbound call is recognised by what it is (fetch, undici, node:http(s), axios, got, ky,
 * Connect and gRPC clients). Each finding lists the chain, one hop per call site.
 */
export function noSyncCallChainRule(context: RuleContext): RawFinding[] {
  const graph = context.callGraph();
  return [...handlerFindings(graph), ...transactionFindings(graph)];
}

function handlerFindings(graph: CallGraph): RawFinding[] {
  const { model, config } = graph.context;
  const findings: RawFinding[] = [];
  const analysed: { file: string; unit: ts.FunctionLikeDeclaration; traces: OutboundTrace[] }[] =
    [];
  for (const file of graph.files) {
    const service = model.serviceOf(file);
    if (!service) continue;
    const units = graph.handlerUnits(file);
    const unitSet = new Set<ts.Node>(units);
    for (const unit of units) {
      const stopAt = (node: ts.Node): boolean =>
        node !== unit && isFunctionLike(node) && (unitSet.has(node) || graph.runsLater(node));
      const traces = firstPerTarget(graph.tracesIn(unit.body as ts.Node, stopAt, unit)).filter(
        (trace) => trace.target.service !== service.name,
      );
      analysed.push({ file, unit, traces });
    }
  }
  for (const { unit, traces } of analysed) {
    // A handler-file function that another handler calls is that handler's helper: report the handler only.
    if (graph.helperTargets.has(unit) || traces.length <= config.syncCalls.maxServicesPerHandler)
      continue;
    const name = unitName(unit);
    findings.push({
      rule,
      ...graph.location(name.node),
      message: `handler ${name.text} makes ${traces.length} synchronous outbound calls to different ${traces.every((trace) => trace.target.service) ? 'services' : 'services/endpoints'}: ${traces.map(describeTrace).join('; ')}`,
      fix: 'Call at most one service synchronously per request; publish an event through the outbox and let the other services react to it.',
      related: traces.flatMap((trace) => relatedHops(trace)),
    });
  }
  return findings;
}

function transactionFindings(graph: CallGraph): RawFinding[] {
  const findings: RawFinding[] = [];
  const transactionFunctions = graph.context.config.syncCalls.transactionFunctions;
  for (const file of graph.files) {
    if (!graph.context.model.serviceOf(file)) continue;
    const reported = new Set<ts.Node>();
    const report = (trace: OutboundTrace, how: string): void => {
      if (reported.has(trace.call)) return;
      reported.add(trace.call);
      findings.push({
        rule,
        ...graph.location(trace.call),
        message: `calls ${trace.target.label} while holding a database transaction (${how}): ${describeTrace(trace)}`,
        fix: 'Commit first and call afterwards, or record the intent in the outbox inside the transaction and let a consumer make the call.',
        related: relatedHops(trace),
      });
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        transactionFunctions.includes(calleeName(node.expression) ?? '')
      ) {
        for (const argument of node.arguments) {
          if (isFunctionLike(argument) && argument.body) {
            const name = calleeText(node.expression) ?? 'transaction';
            for (const trace of graph.tracesIn(
              argument.body,
              (inner) => graph.runsLater(inner),
              argument,
            ))
              report(trace, `inside ${name}()`);
          }
        }
      }
      if (isFunctionLike(node) && node.body) {
        const windows = beginCommitWindows(node.body);
        if (windows.length > 0) {
          const traces = graph.tracesIn(
            node.body,
            (inner) => inner !== node && graph.runsLater(inner),
            node,
          );
          for (const window of windows) {
            for (const trace of traces) {
              const start = trace.call.getStart();
              if (start > window.start && start < window.end)
                report(trace, 'between BEGIN and COMMIT');
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(graph.context.index.get(file).sourceFile);
  }
  return findings;
}

/** `inventory: reserveStock() src/server.ts:14 → fetch(`...`) src/clients.ts:6`. */
function describeTrace(trace: OutboundTrace): string {
  return `${trace.target.label}: ${trace.hops.map((hop) => `${hop.label} ${hop.at.file}:${hop.at.line}`).join(' → ')}`;
}

function relatedHops(trace: OutboundTrace): (SourceLocation & { message: string })[] {
  return trace.hops.map((hop, index) => ({
    ...hop.at,
    message:
      index === trace.hops.length - 1
        ? `${trace.outbound.kind === 'rpc' ? 'RPC' : 'HTTP'} call to ${trace.target.label} (${trace.outbound.library})`
        : `calls ${hop.label} on the way to ${trace.target.label}`,
  }));
}

function unitName(unit: ts.FunctionLikeDeclaration): { node: ts.Node; text: string } {
  if (unit.name) return { node: unit.name, text: unit.name.getText() };
  const parent = unit.parent;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    parent.name
  ) {
    return { node: parent.name, text: parent.name.getText() };
  }
  if (ts.isCallExpression(parent)) {
    const route = parent.arguments.find((argument) => ts.isStringLiteralLike(argument));
    const label = `${calleeText(parent.expression) ?? 'callback'}(${route ? route.getText() : ''})`;
    return { node: unit, text: label };
  }
  return { node: unit, text: 'anonymous' };
}

/** Source ranges between `query('BEGIN')` and the next `query('COMMIT'|'ROLLBACK')` in a function body. */
function beginCommitWindows(body: ts.Node): { start: number; end: number }[] {
  const begins: number[] = [];
  const ends: number[] = [];
  const visit = (node: ts.Node): void => {
    if (node !== body && isFunctionLike(node)) return;
    if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      if (first && ts.isStringLiteralLike(first)) {
        if (/^\s*(?:BEGIN|START\s+TRANSACTION)\b/i.test(first.text)) begins.push(node.getEnd());
        else if (/^\s*(?:COMMIT|ROLLBACK|END)\b/i.test(first.text)) ends.push(node.getStart());
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(body);
  return begins.map((start) => ({ start, end: ends.find((end) => end > start) ?? body.getEnd() }));
}
