import ts from 'typescript';
import type { CallGraph, OutboundTrace } from '../analysis/call-graph.ts';
import { skipOuter } from '../analysis/origins.ts';
import type { RawFinding } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import { calleeName, isFunctionLike, staticName } from '../source-index.ts';

const rule = 'no-retry-storm';
const fix =
  'Bound the attempts, wait between them with exponential backoff and full jitter, honour Retry-After / RateLimit-Reset, and send an Idempotency-Key with retried POST/PATCH calls.';

type Loop = ts.IterationStatement;

/**
 * Retry loops around outbound calls (found by the call graph, through helpers) and the retry
 * options of axios-retry / p-retry / async-retry. A loop is a retry loop when an outbound call in
 * it sits in a `try` whose failure lets the loop go round again, or is followed by `continue`.
 * Each loop is reported once, with everything it lacks.
 */
export function noRetryStormRule(context: RuleContext): RawFinding[] {
  const graph = context.callGraph();
  const findings: RawFinding[] = [];
  for (const file of graph.files) {
    if (!context.model.serviceOf(file) && !context.model.isAllowedShared(file)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isIterationStatement(node, false)) {
        const finding = checkLoop(graph, node);
        if (finding) findings.push(finding);
      }
      if (ts.isCallExpression(node)) {
        const finding = checkRetryLibrary(graph, node);
        if (finding) findings.push(finding);
      }
      ts.forEachChild(node, visit);
    };
    visit(context.index.get(file).sourceFile);
  }
  return findings;
}

function checkLoop(graph: CallGraph, loop: Loop): RawFinding | undefined {
  const traces = graph.tracesIn(
    loop.statement,
    (node) => graph.runsLater(node),
    enclosingFunction(loop),
  );
  const retried = traces.filter((trace) => isRetried(trace.call, loop));
  if (retried.length === 0) return undefined;
  const sleepCalls = graph.context.config.retries.sleepCalls;
  const body = loop.statement;
  const problems: string[] = [];
  if (!isBounded(loop)) problems.push('no bound on the attempts');
  const sleeps = findSleeps(body, sleepCalls);
  if (sleeps.length === 0) {
    problems.push('no delay between attempts');
  } else {
    const loopVariables = variablesChangedIn(loop);
    const grows = sleeps.some((sleep) => dependsOn(sleep, loopVariables) || hasGrowth(sleep));
    if (!grows) problems.push('a constant delay (no exponential backoff)');
    if (!sleeps.some((sleep) => hasJitter(graph, sleep)) && !hasJitter(graph, body))
      problems.push('no jitter');
  }
  const text = reachableText(graph, body, retried);
  if (/\b(?:429|503)\b/.test(text) && !/retry-after|ratelimit-reset|retryafter/i.test(text))
    problems.push('retries on 429/503 without reading Retry-After / RateLimit-Reset');
  const unsafe = retried.find((trace) => isUnsafeMethod(trace));
  if (unsafe && !/idempotency|idempotent/i.test(text))
    problems.push(
      `retries ${unsafe.outbound.method ?? 'a non-idempotent call'} ${unsafe.target.label} without an idempotency key`,
    );
  if (problems.length === 0) return undefined;
  const first = retried[0] as OutboundTrace;
  return {
    rule,
    ...graph.location(loop),
    message: `retry loop around ${describeTargets(retried)} has ${problems.join(', ')}`,
    fix,
    related: first.hops.map((hop) => ({ ...hop.at, message: `retried call: ${hop.label}` })),
  };
}

/** The outbound call fails into something that lets the loop run again. */
function isRetried(call: ts.Node, loop: Loop): boolean {
  for (let node: ts.Node = call; node !== loop; node = node.parent) {
    const parent = node.parent;
    if (ts.isTryStatement(parent) && parent.tryBlock === node) {
      const handler = parent.catchClause;
      if (handler && !alwaysLeaves(handler.block)) return true;
    }
  }
  // `const res = await fetch(...); if (!res.ok) continue;`
  let continues = false;
  const visit = (node: ts.Node): void => {
    if (ts.isContinueStatement(node) && !node.label && innermostLoop(node) === loop)
      continues = true;
    if (!isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(loop.statement);
  return continues;
}

function innermostLoop(node: ts.Node): ts.Node | undefined {
  for (let current = node.parent; current; current = current.parent) {
    if (ts.isIterationStatement(current, false)) return current;
    if (isFunctionLike(current)) return undefined;
  }
  return undefined;
}

/** A catch block that always throws or returns does not retry. */
function alwaysLeaves(block: ts.Block): boolean {
  const last = block.statements.at(-1);
  if (!last) return false;
  const leaves =
    ts.isThrowStatement(last) || ts.isReturnStatement(last) || ts.isBreakStatement(last);
  return leaves && !block.statements.some((statement) => ts.isIfStatement(statement));
}

/** `for (let i = 0; i < n; i++)`, `while (attempt < max)`, or a counter compared inside the body. */
function isBounded(loop: Loop): boolean {
  let condition: ts.Expression | undefined;
  if (ts.isForStatement(loop)) condition = loop.condition;
  else if (ts.isWhileStatement(loop) || ts.isDoStatement(loop)) condition = loop.expression;
  if (ts.isForOfStatement(loop) || ts.isForInStatement(loop)) return true;
  if (condition && condition.kind !== ts.SyntaxKind.TrueKeyword) return true;
  const counters = variablesChangedIn(loop);
  let bounded = false;
  const visit = (node: ts.Node): void => {
    if (
      ts.isBinaryExpression(node) &&
      [
        ts.SyntaxKind.LessThanToken,
        ts.SyntaxKind.LessThanEqualsToken,
        ts.SyntaxKind.GreaterThanToken,
        ts.SyntaxKind.GreaterThanEqualsToken,
        ts.SyntaxKind.EqualsEqualsEqualsToken,
      ].includes(node.operatorToken.kind) &&
      (dependsOn(node.left, counters) || dependsOn(node.right, counters))
    ) {
      bounded = true;
    }
    if (!isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(loop.statement);
  return bounded;
}

/** Names assigned or incremented in the loop (`attempt++`, `delay *= 2`, the for-loop variable). */
function variablesChangedIn(loop: Loop): Set<string> {
  const names = new Set<string>();
  if (
    ts.isForStatement(loop) &&
    loop.initializer &&
    ts.isVariableDeclarationList(loop.initializer)
  ) {
    for (const declaration of loop.initializer.declarations)
      if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
  }
  const visit = (node: ts.Node): void => {
    if (
      (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken ||
        node.operator === ts.SyntaxKind.MinusMinusToken) &&
      ts.isIdentifier(node.operand)
    ) {
      names.add(node.operand.text);
    }
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      node.operatorToken.kind <= ts.SyntaxKind.LastAssignment &&
      ts.isIdentifier(node.left)
    ) {
      names.add(node.left.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(loop);
  return names;
}

function dependsOn(node: ts.Node, names: Set<string>): boolean {
  if (ts.isIdentifier(node) && names.has(node.text)) return true;
  let found = false;
  ts.forEachChild(node, (child) => {
    if (!found && dependsOn(child, names)) found = true;
  });
  return found;
}

/** `2 ** n`, `Math.pow`, `<<`, `*=`: a delay that grows. */
function hasGrowth(node: ts.Node): boolean {
  return /\*\*|Math\.pow|<<|\bexponential|\bbackoff/i.test(node.getText());
}

/** Awaited waits in the loop body: `await sleep(ms)`, `await new Promise(r => setTimeout(r, ms))`, `timers/promises`. */
function findSleeps(body: ts.Node, sleepCalls: string[]): ts.Node[] {
  const sleeps: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isAwaitExpression(node)) {
      const inner = skipOuter(node.expression);
      if (ts.isCallExpression(inner) && sleepCalls.includes(calleeName(inner.expression) ?? ''))
        sleeps.push(inner);
      else if (ts.isNewExpression(inner) && /setTimeout/.test(inner.getText())) sleeps.push(inner);
    }
    if (!isFunctionLike(node) || node === body) ts.forEachChild(node, visit);
  };
  visit(body);
  return sleeps;
}

/** `Math.random()` or a `jitter`-named value in the delay, its declaration, or the helper computing it. */
function hasJitter(graph: CallGraph, node: ts.Node): boolean {
  const pattern = /Math\.random|randomInt|getRandomValues|jitter/i;
  if (pattern.test(node.getText())) return true;
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(child)) {
      const declaration = graph.guard.checker.getSymbolAtLocation(child)?.valueDeclaration;
      if (
        declaration &&
        ts.isVariableDeclaration(declaration) &&
        declaration.initializer &&
        pattern.test(declaration.initializer.getText())
      ) {
        found = true;
      }
    }
    if (ts.isCallExpression(child)) {
      for (const fn of graph.targetsOf(child))
        if (fn.body && pattern.test(fn.body.getText())) found = true;
    }
    ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

/** The loop body plus the bodies of helpers on the way to the retried calls (where headers are set). */
function reachableText(graph: CallGraph, body: ts.Node, traces: OutboundTrace[]): string {
  const parts = [body.getText()];
  for (const trace of traces) {
    for (const fn of graph.targetsOf(trace.call)) if (fn.body) parts.push(fn.body.getText());
  }
  return parts.join('\n');
}

function isUnsafeMethod(trace: OutboundTrace): boolean {
  const method = trace.outbound.method?.toUpperCase();
  return method === 'POST' || method === 'PATCH';
}

function describeTargets(traces: OutboundTrace[]): string {
  return [...new Set(traces.map((trace) => trace.target.label))].join(', ');
}

function enclosingFunction(node: ts.Node): ts.FunctionLikeDeclaration | undefined {
  for (let current = node.parent; current; current = current.parent)
    if (isFunctionLike(current)) return current;
  return undefined;
}

const retryLibraries: Record<string, 'axios-retry' | 'promise-retry'> = {
  'axios-retry': 'axios-retry',
  'p-retry': 'promise-retry',
  'async-retry': 'promise-retry',
  'promise-retry': 'promise-retry',
};

/** `axiosRetry(client, { retries: 3 })` waits 0 ms between attempts unless `retryDelay` is set; `forever`/`Infinity` is unbounded. */
function checkRetryLibrary(graph: CallGraph, call: ts.CallExpression): RawFinding | undefined {
  const origin = graph.origins.originOf(call.expression);
  const kind =
    origin && origin.path.filter((step) => step !== 'default').length === 0
      ? retryLibraries[origin.module]
      : undefined;
  if (!kind) return undefined;
  const options = call.arguments.find((argument): argument is ts.ObjectLiteralExpression =>
    ts.isObjectLiteralExpression(argument),
  );
  const values = new Map<string, ts.Expression>();
  for (const property of options?.properties ?? []) {
    if (ts.isPropertyAssignment(property)) {
      const name = staticName(property.name);
      if (name) values.set(name, property.initializer);
    }
  }
  const problems: string[] = [];
  const retries = values.get('retries')?.getText();
  if (retries === 'Infinity' || values.get('forever')?.getText() === 'true')
    problems.push('no bound on the attempts');
  if (kind === 'axios-retry' && !values.has('retryDelay'))
    problems.push('no delay between attempts (axios-retry waits 0 ms without retryDelay)');
  if (kind === 'promise-retry' && values.get('randomize')?.getText() === 'false')
    problems.push('no jitter (randomize: false)');
  if (kind === 'promise-retry' && values.get('factor')?.getText() === '1')
    problems.push('a constant delay (factor: 1)');
  if (problems.length === 0) return undefined;
  return {
    rule,
    ...graph.location(call),
    message: `${origin?.module ?? 'retry'} is configured with ${problems.join(', ')}`,
    fix,
  };
}
