import ts from 'typescript';
import type { CallGraph } from '../analysis/call-graph.ts';
import { skipOuter } from '../analysis/origins.ts';
import type { RawFinding } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import { calleeName, isFunctionLike, staticName } from '../source-index.ts';

const rule = 'no-leak-prone-code';
const listenerAdders = new Set(['on', 'addListener', 'addEventListener', 'prependListener']);
const listenerRemovers = new Set([
  'off',
  'removeListener',
  'removeEventListener',
  'removeAllListeners',
]);
const shrinkers = new Set(['delete', 'clear', 'shift', 'pop', 'splice', 'evict', 'prune']);
const growers = new Set(['set', 'add', 'push', 'unshift']);

/**
 * Three shapes that leak in a long-running service: an interval whose handle is dropped (and a
 * timer dropped on a request path), a listener added to a long-lived emitter on every request,
 * and a module-level (or long-lived field) collection that request code fills and nothing ever
 * shrinks or bounds. "Request code" is every handler the call graph knows and whatever it calls.
 */
export function noLeakProneCodeRule(context: RuleContext): RawFinding[] {
  const graph = context.callGraph();
  const perRequest = requestScopedFunctions(graph);
  const isPerRequest = (node: ts.Node): boolean => {
    for (let current = node.parent; current; current = current.parent) {
      if (!isFunctionLike(current)) continue;
      if (perRequest.has(current)) return true;
      if (graph.runsLater(current)) return false;
    }
    return false;
  };
  const findings: RawFinding[] = [];
  for (const file of graph.files) {
    if (!context.model.serviceOf(file)) continue;
    const sourceFile = context.index.get(file).sourceFile;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const timer = timerFinding(graph, node, isPerRequest);
        if (timer) findings.push(timer);
        const listener = listenerFinding(graph, node, isPerRequest, perRequest);
        if (listener) findings.push(listener);
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
    findings.push(...cacheFindings(graph, sourceFile, isPerRequest));
  }
  return findings;
}

/** Handlers and every project function they reach. */
function requestScopedFunctions(graph: CallGraph): Set<ts.Node> {
  const reached = new Set<ts.Node>();
  const queue: ts.FunctionLikeDeclaration[] = [];
  for (const file of graph.files) {
    if (!graph.context.model.serviceOf(file)) continue;
    for (const unit of graph.handlerUnits(file)) {
      reached.add(unit);
      queue.push(unit);
    }
  }
  while (queue.length > 0) {
    const fn = queue.pop() as ts.FunctionLikeDeclaration;
    const visit = (node: ts.Node): void => {
      if (node !== fn && isFunctionLike(node) && graph.runsLater(node)) return;
      if (ts.isCallExpression(node)) {
        for (const target of graph.targetsOf(node)) {
          if (!reached.has(target)) {
            reached.add(target);
            queue.push(target);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    if (fn.body) visit(fn.body);
  }
  return reached;
}

function timerFinding(
  graph: CallGraph,
  call: ts.CallExpression,
  isPerRequest: (node: ts.Node) => boolean,
): RawFinding | undefined {
  const name = calleeName(call.expression);
  if (name !== 'setInterval' && name !== 'setTimeout') return undefined;
  const origin = graph.origins.originOf(call.expression);
  if (origin && origin.module !== '(global)' && origin.module !== 'node:timers') return undefined;
  if (!isDropped(call)) return undefined;
  if (name === 'setTimeout') {
    const delay = call.arguments[1];
    // `setTimeout(f)` / `setTimeout(f, 0)` only yields to the event loop.
    if (!delay || delay.getText() === '0') return undefined;
    if (!isPerRequest(call) || insidePromiseExecutor(call)) return undefined;
    // A delayed answer (`setTimeout(() => res.json(x), delay)`) is the request's own continuation.
    if (answersRequest(call.arguments[0])) return undefined;
    return {
      rule,
      ...graph.location(call),
      message:
        'setTimeout on a request path drops its handle: the timer (and everything its callback holds) outlives the request and cannot be cancelled',
      fix: 'Keep the handle and clearTimeout it when the request ends (or use AbortSignal.timeout with the request signal).',
    };
  }
  return {
    rule,
    ...graph.location(call),
    message:
      'setInterval drops its handle: the interval can never be cleared (shutdown hangs, tests leak)',
    fix: 'Keep the handle and clearInterval it on shutdown (or use the platform scheduler, which does).',
  };
}

/** The callback answers the request: calls `res.*`/`reply.*`/`response.*` or `next`/`callback`. */
function answersRequest(callback: ts.Node | undefined): boolean {
  if (!callback || !isFunctionLike(callback)) return false;
  return /\b(?:res|reply|response)\.\w+\(|\b(?:next|callback|done)\(/.test(callback.getText());
}

/** `setInterval(...)` / `setInterval(...).unref()` as a statement. */
function isDropped(call: ts.CallExpression): boolean {
  let node: ts.Node = call;
  while (
    ts.isPropertyAccessExpression(node.parent) &&
    ts.isCallExpression(node.parent.parent) &&
    ['unref', 'ref'].includes(node.parent.name.text)
  ) {
    node = node.parent.parent;
  }
  while (ts.isParenthesizedExpression(node.parent)) node = node.parent;
  return ts.isExpressionStatement(node.parent) || ts.isVoidExpression(node.parent);
}

function insidePromiseExecutor(node: ts.Node): boolean {
  for (let current = node.parent; current; current = current.parent) {
    if (isFunctionLike(current)) {
      const parent = current.parent;
      return ts.isNewExpression(parent) && parent.expression.getText() === 'Promise';
    }
  }
  return false;
}

function listenerFinding(
  graph: CallGraph,
  call: ts.CallExpression,
  isPerRequest: (node: ts.Node) => boolean,
  perRequest: Set<ts.Node>,
): RawFinding | undefined {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee) || !listenerAdders.has(callee.name.text))
    return undefined;
  if (!isPerRequest(call)) return undefined;
  const options = call.arguments[2];
  if (options && /\bonce\s*:\s*true/.test(options.getText())) return undefined;
  const receiver = skipOuter(callee.expression);
  if (!isLongLived(graph, receiver, perRequest)) return undefined;
  const fn = enclosingFunction(call);
  const receiverText = receiver.getText();
  if (fn?.body && removesListener(fn.body, receiverText)) return undefined;
  const event = call.arguments[0]?.getText() ?? '';
  return {
    rule,
    ...graph.location(call),
    message: `adds a ${event} listener to ${receiverText} on every request and never removes it: the emitter keeps every request's callback alive`,
    fix: 'Register the listener once at start-up, use once/AbortSignal, or remove it when the request ends.',
  };
}

/** A module-level value, a class field (`this.x`), or `process`/`globalThis`: anything not created per request. */
function isLongLived(graph: CallGraph, receiver: ts.Expression, perRequest: Set<ts.Node>): boolean {
  let root: ts.Expression = receiver;
  while (ts.isPropertyAccessExpression(root) || ts.isElementAccessExpression(root))
    root = root.expression;
  if (root.kind === ts.SyntaxKind.ThisKeyword) return true;
  if (!ts.isIdentifier(root)) return false;
  if (root.text === 'process' || root.text === 'globalThis') return true;
  const declaration = graph.guard.checker.getSymbolAtLocation(root)?.declarations?.[0];
  if (!declaration || ts.isParameter(declaration)) return false;
  for (let current = declaration.parent; current; current = current.parent) {
    if (isFunctionLike(current))
      return !perRequest.has(current) && !isInsideRequestScope(current, perRequest);
  }
  return (
    ts.isVariableDeclaration(declaration) ||
    ts.isImportSpecifier(declaration) ||
    ts.isImportClause(declaration)
  );
}

function isInsideRequestScope(fn: ts.Node, perRequest: Set<ts.Node>): boolean {
  for (let current = fn.parent; current; current = current.parent)
    if (perRequest.has(current)) return true;
  return false;
}

function removesListener(body: ts.Node, receiverText: string): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      listenerRemovers.has(node.expression.name.text) &&
      skipOuter(node.expression.expression).getText() === receiverText
    ) {
      found = true;
    }
    if (!found) ts.forEachChild(node, visit);
  };
  visit(body);
  return found;
}

function enclosingFunction(node: ts.Node): ts.FunctionLikeDeclaration | undefined {
  for (let current = node.parent; current; current = current.parent)
    if (isFunctionLike(current)) return current;
  return undefined;
}

/** Module-level `new Map()`/`new Set()`/`{}`/`[]` (and class fields) that request code grows and nothing shrinks. */
function cacheFindings(
  graph: CallGraph,
  sourceFile: ts.SourceFile,
  isPerRequest: (node: ts.Node) => boolean,
): RawFinding[] {
  const findings: RawFinding[] = [];
  const candidates: { name: string; node: ts.Node; scope: ts.Node; viaThis: boolean }[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && isGrowable(declaration.initializer))
          candidates.push({
            name: declaration.name.text,
            node: declaration.name,
            scope: sourceFile,
            viaThis: false,
          });
      }
    }
  }
  const visitClasses = (node: ts.Node): void => {
    if (ts.isClassLike(node)) {
      for (const member of node.members) {
        if (ts.isPropertyDeclaration(member) && isGrowable(member.initializer)) {
          const name = staticName(member.name);
          if (name && !(ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static))
            candidates.push({ name, node: member.name, scope: node, viaThis: true });
        }
      }
    }
    ts.forEachChild(node, visitClasses);
  };
  visitClasses(sourceFile);
  for (const candidate of candidates) {
    let grownPerRequest: ts.Node | undefined;
    let bounded = false;
    const refersTo = (expression: ts.Expression): boolean => {
      const inner = skipOuter(expression);
      if (candidate.viaThis)
        return (
          ts.isPropertyAccessExpression(inner) &&
          inner.expression.kind === ts.SyntaxKind.ThisKeyword &&
          inner.name.text === candidate.name
        );
      return ts.isIdentifier(inner) && inner.text === candidate.name;
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        refersTo(node.expression.expression)
      ) {
        const method = node.expression.name.text;
        if (shrinkers.has(method)) bounded = true;
        if (growers.has(method) && !grownPerRequest && isPerRequest(node)) grownPerRequest = node;
      }
      if (
        (ts.isPropertyAccessExpression(node) &&
          ['size', 'length'].includes(node.name.text) &&
          refersTo(node.expression)) ||
        (ts.isDeleteExpression(node) &&
          ts.isElementAccessExpression(skipOuter(node.expression)) &&
          refersTo((skipOuter(node.expression) as ts.ElementAccessExpression).expression))
      ) {
        bounded = true;
      }
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isElementAccessExpression(node.left) &&
        refersTo(node.left.expression) &&
        !grownPerRequest &&
        isPerRequest(node)
      ) {
        grownPerRequest = node;
      }
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        refersTo(node.left)
      )
        bounded = true;
      ts.forEachChild(node, visit);
    };
    visit(candidate.scope);
    if (!grownPerRequest || bounded) continue;
    const at = graph.location(grownPerRequest);
    findings.push({
      rule,
      ...graph.location(candidate.node),
      message: `${candidate.viaThis ? 'this.' : ''}${candidate.name} grows on every request (line ${at.line}) and nothing ever removes entries or checks its size: an unbounded per-request cache`,
      fix: 'Bound it (an LRU with a maximum size, a TTL with eviction) or key it by something finite.',
      related: [{ ...at, message: 'filled here, on a request path' }],
    });
  }
  return findings;
}

function isGrowable(initializer: ts.Expression | undefined): boolean {
  if (!initializer) return false;
  const value = skipOuter(initializer);
  if (ts.isNewExpression(value)) return ['Map', 'Set'].includes(value.expression.getText());
  return (
    (ts.isObjectLiteralExpression(value) && value.properties.length === 0) ||
    (ts.isArrayLiteralExpression(value) && value.elements.length === 0)
  );
}
