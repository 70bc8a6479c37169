import ts from 'typescript';
import type { RawFinding, SourceLocation } from '../finding.ts';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { ServiceInfo } from '../repo-model.ts';
import type { RuleContext } from '../rule-context.ts';
import {
  calleeName,
  calleeText,
  isFunctionLike,
  locationOf,
  nameWords,
  staticName,
} from '../source-index.ts';

const rule = 'no-sync-call-chain';

/** One call that ends, possibly through same-service helpers, in a call to another service. */
interface CallTrace {
  /** The call expression in the function being analysed (the remote call itself or a helper call). */
  node: ts.CallExpression;
  service: string;
  /** Helper functions between `node` and the remote call. */
  chain: string[];
  remote: SourceLocation & { description: string };
}

interface FunctionRef {
  file: string;
  fn: ts.FunctionLikeDeclaration;
  name: string;
}

/**
 * Finds handlers that fan out synchronously to several services and service calls made while a
 * database transaction is open. Remote calls are calls on clients created from another
 * service's generated contract (or named `<service>Client`), and HTTP calls whose URL names
 * another service. Same-service helper functions are followed across files.
 */
export function noSyncCallChainRule(context: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  const { model } = context;
  for (const service of model.services) {
    const files = model
      .sourceFiles()
      .filter((file) => model.serviceOf(file) === service && !model.isTestFile(file));
    const analysis = new ServiceCallAnalysis(context, service, files);
    findings.push(...analysis.handlerFindings(), ...analysis.transactionFindings());
  }
  return findings;
}

class ServiceCallAnalysis {
  /** Properties holding clients (`deps.inventory`): they travel through deps objects, so they count service-wide. */
  private readonly clientProperties = new Map<string, string>();
  /** Local variables holding clients, per file: `client` in one file says nothing about `client` in another. */
  private readonly clientVariables = new Map<string, Map<string, string>>();
  private readonly memo = new Map<ts.Node, CallTrace[]>();
  private readonly inProgress = new Set<ts.Node>();
  /** Functions some analysed code calls as a helper. */
  private readonly helperTargets = new Set<ts.Node>();
  private readonly otherServices: ServiceInfo[];

  constructor(
    private readonly context: RuleContext,
    private readonly service: ServiceInfo,
    private readonly files: string[],
  ) {
    this.otherServices = context.model.services.filter((candidate) => candidate !== service);
    for (const file of files) this.collectClientNames(file);
  }

  handlerFindings(): RawFinding[] {
    const { config } = this.context;
    const findings: RawFinding[] = [];
    const analysed: { file: string; unit: ts.FunctionLikeDeclaration; traces: CallTrace[] }[] = [];
    for (const file of this.files) {
      if (!matchesAnyGlob(file, config.syncCalls.handlers)) continue;
      const units: ts.FunctionLikeDeclaration[] = [];
      const visit = (node: ts.Node): void => {
        if (isFunctionLike(node) && node.body && this.isHandlerUnit(node)) units.push(node);
        ts.forEachChild(node, visit);
      };
      visit(this.context.index.get(file).sourceFile);
      for (const unit of units) {
        const stopAt = (node: ts.Node): boolean =>
          node !== unit && isFunctionLike(node) && this.isHandlerUnit(node);
        analysed.push({
          file,
          unit,
          traces: firstPerService(this.callsIn(file, unit.body as ts.Node, stopAt)),
        });
      }
    }
    for (const { file, unit, traces } of analysed) {
      // A function in entry-points/ that another handler calls is that handler's helper: report the handler only.
      if (this.helperTargets.has(unit) || traces.length <= config.syncCalls.maxServicesPerHandler)
        continue;
      const name = unitName(unit);
      findings.push({
        rule,
        ...locationOf(file, name.node),
        message: `handler ${name.text} calls ${traces.length} other services synchronously: ${traces.map(describeTrace).join('; ')}`,
        fix: 'Call at most one service synchronously per request; publish an event through the outbox and let the other services react to it.',
        related: traces.map((trace) => ({ ...trace.remote, message: `call to ${trace.service}` })),
      });
    }
    return findings;
  }

  transactionFindings(): RawFinding[] {
    const findings: RawFinding[] = [];
    const transactionFunctions = this.context.config.syncCalls.transactionFunctions;
    for (const file of this.files) {
      const reported = new Set<ts.Node>();
      const report = (trace: CallTrace, how: string): void => {
        if (reported.has(trace.node)) return;
        reported.add(trace.node);
        findings.push({
          rule,
          ...locationOf(file, trace.node),
          message: `calls ${trace.service} while holding a database transaction (${how}): ${describeTrace(trace)}`,
          fix: 'Commit first and call afterwards, or record the intent in the outbox inside the transaction and let a consumer make the call.',
          related: [{ ...trace.remote, message: `call to ${trace.service}` }],
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
              for (const trace of this.callsIn(file, argument.body, () => false))
                report(trace, `inside ${name}()`);
            }
          }
        }
        if (isFunctionLike(node) && node.body) {
          for (const window of beginCommitWindows(node.body)) {
            for (const trace of this.callsIn(file, node.body, () => false)) {
              if (trace.node.getStart() > window.start && trace.node.getStart() < window.end) {
                report(trace, 'between BEGIN and COMMIT');
              }
            }
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(this.context.index.get(file).sourceFile);
    }
    return findings;
  }

  /**
   * Handlers are functions that run later rather than where they are written: declarations,
   * methods, functions stored or returned, and callbacks given to a registrar (`bus.subscribe`,
   * `app.post`). Callbacks given to anything else (`transaction`, `map`) run inline, as part of
   * the enclosing function.
   */
  private isHandlerUnit(fn: ts.FunctionLikeDeclaration): boolean {
    if (ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) return true;
    if (!ts.isArrowFunction(fn) && !ts.isFunctionExpression(fn)) return false;
    const parent = fn.parent;
    if (
      ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)
    )
      return true;
    if (
      ts.isExportAssignment(parent) ||
      ts.isReturnStatement(parent) ||
      (ts.isArrowFunction(parent) && parent.body === fn)
    ) {
      return true;
    }
    return (
      ts.isCallExpression(parent) &&
      parent.arguments.includes(fn) &&
      this.context.config.syncCalls.registrars.includes(calleeName(parent.expression) ?? '')
    );
  }

  /** Every call under `root` that reaches another service, directly or through helpers. */
  private callsIn(file: string, root: ts.Node, stopAt: (node: ts.Node) => boolean): CallTrace[] {
    const traces: CallTrace[] = [];
    const visit = (node: ts.Node): void => {
      if (stopAt(node)) return;
      if (ts.isCallExpression(node)) {
        const remote = this.remoteCallOf(file, node);
        if (remote) {
          traces.push({
            node,
            service: remote.service,
            chain: [],
            remote: { ...locationOf(file, node), description: remote.description },
          });
        } else {
          const helper = this.resolveHelper(file, node);
          if (helper) {
            for (const inner of firstPerService(this.tracesOfFunction(helper))) {
              traces.push({ ...inner, node, chain: [helper.name, ...inner.chain] });
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(root);
    return traces;
  }

  /** What calling the function does: functions it merely defines or returns are not run by the call. */
  private tracesOfFunction(ref: FunctionRef): CallTrace[] {
    this.helperTargets.add(ref.fn);
    const cached = this.memo.get(ref.fn);
    if (cached) return cached;
    if (this.inProgress.has(ref.fn) || !ref.fn.body) return [];
    this.inProgress.add(ref.fn);
    const deferred = (node: ts.Node): boolean =>
      node !== ref.fn && isFunctionLike(node) && this.isHandlerUnit(node);
    const traces = this.callsIn(ref.file, ref.fn.body, deferred);
    this.inProgress.delete(ref.fn);
    this.memo.set(ref.fn, traces);
    return traces;
  }

  private remoteCallOf(
    file: string,
    call: ts.CallExpression,
  ): { service: string; description: string } | undefined {
    const callee = call.expression;
    const text = calleeText(callee) ?? callee.getText();
    if (ts.isPropertyAccessExpression(callee)) {
      const names = receiverNames(callee.expression);
      const variables = this.clientVariables.get(file);
      for (const [position, name] of [...names.entries()].reverse()) {
        const variable =
          position === 0 && !isThisReceiver(callee.expression) ? variables?.get(name) : undefined;
        const service =
          variable ?? this.clientProperties.get(name) ?? this.serviceNamedClient(name);
        if (service && service !== this.service.name) return { service, description: `${text}()` };
      }
    }
    if (matchesAnyGlob(text, this.context.config.syncCalls.httpCallees) && call.arguments[0]) {
      const service = this.serviceInUrl(call.arguments[0]);
      if (service) return { service, description: `${text}(${call.arguments[0].getText()})` };
    }
    return undefined;
  }

  /** `inventoryClient` names a client of `inventory` by convention. */
  private serviceNamedClient(name: string): string | undefined {
    const words = nameWords(name);
    const last = words.at(-1);
    if (last !== 'client') return undefined;
    const stem = words.slice(0, -1).join('-');
    return this.otherServices.find((service) => nameWords(service.name).join('-') === stem)?.name;
  }

  private serviceInUrl(argument: ts.Expression): string | undefined {
    let node: ts.Node = argument;
    if (ts.isIdentifier(argument)) {
      const declaration = findDeclaration(argument);
      if (declaration?.initializer) node = declaration.initializer;
    }
    const words = nameWords(node.getText());
    return this.otherServices.find((service) => containsSequence(words, nameWords(service.name)))
      ?.name;
  }

  private collectClientNames(file: string): void {
    const variables = new Map<string, string>();
    this.clientVariables.set(file, variables);
    const sourceFile = this.context.index.get(file).sourceFile;
    const collectCreations = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const target = this.clientCreationTarget(file, node);
        const binding = target ? bindingNameOf(node) : undefined;
        if (target && binding)
          (binding.isVariable ? variables : this.clientProperties).set(binding.name, target);
      }
      ts.forEachChild(node, collectCreations);
    };
    // A client variable put into an object (`{ inventory }`, `{ stock: inventory }`) becomes a property.
    const collectHandOvers = (node: ts.Node): void => {
      if (ts.isShorthandPropertyAssignment(node)) {
        const target = variables.get(node.name.text);
        if (target) this.clientProperties.set(node.name.text, target);
      } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.initializer)) {
        const target = variables.get(node.initializer.text);
        const name = staticName(node.name);
        if (target && name) this.clientProperties.set(name, target);
      }
      ts.forEachChild(node, collectHandOvers);
    };
    collectCreations(sourceFile);
    collectHandOvers(sourceFile);
  }

  /** The service whose contract descriptor is passed to a client factory (aliases included). */
  private clientCreationTarget(file: string, call: ts.CallExpression): string | undefined {
    const [descriptor] = call.arguments;
    if (!descriptor) return undefined;
    const contract = this.contractExportOf(file, descriptor);
    if (!contract) return undefined;
    const factories = this.context.config.syncCalls.clientFactories;
    let factoryName = calleeName(call.expression);
    if (ts.isIdentifier(call.expression)) {
      factoryName =
        this.context.index.importOf(file, call.expression.text)?.binding.imported ?? factoryName;
    }
    const isFactory = factories.includes(factoryName ?? '') || /Service$/.test(contract.exportName);
    return isFactory ? contract.service : undefined;
  }

  private contractExportOf(
    file: string,
    node: ts.Expression,
  ): { service: string; exportName: string } | undefined {
    const { index, resolver, model } = this.context;
    let local: string | undefined;
    let member: string | undefined;
    if (ts.isIdentifier(node)) local = node.text;
    else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      local = node.expression.text;
      member = node.name.text;
    }
    if (!local) return undefined;
    const imported = index.importOf(file, local);
    if (!imported) return undefined;
    const resolution = resolver.resolve(file, imported.ref.specifier);
    if (resolution.kind !== 'file' || !model.isContract(resolution.path)) return undefined;
    const owner = model.serviceOf(resolution.path);
    if (!owner || owner === this.service) return undefined;
    const exportName =
      imported.binding.imported === '*' ? (member ?? '') : imported.binding.imported;
    return { service: owner.name, exportName };
  }

  /** A same-service function the call invokes: local, imported (named or namespace) or `this.method`. */
  private resolveHelper(file: string, call: ts.CallExpression): FunctionRef | undefined {
    const callee = call.expression;
    if (ts.isIdentifier(callee)) {
      const local =
        findLocalFunction(callee) ??
        findFunction(this.context.index.get(file).sourceFile, callee.text);
      if (local) return { file, fn: local, name: callee.text };
      const imported = this.context.index.importOf(file, callee.text);
      if (imported && imported.binding.imported !== '*') {
        return this.exportedFunction(
          file,
          imported.ref.specifier,
          imported.binding.imported,
          callee.text,
        );
      }
      return undefined;
    }
    if (ts.isPropertyAccessExpression(callee)) {
      if (callee.expression.kind === ts.SyntaxKind.ThisKeyword) {
        const owner = findAncestor(callee, ts.isClassLike);
        const method = owner?.members.find(
          (member): member is ts.MethodDeclaration =>
            ts.isMethodDeclaration(member) && staticName(member.name) === callee.name.text,
        );
        return method ? { file, fn: method, name: callee.name.text } : undefined;
      }
      if (ts.isIdentifier(callee.expression)) {
        const imported = this.context.index.importOf(file, callee.expression.text);
        if (imported?.binding.imported === '*') {
          return this.exportedFunction(
            file,
            imported.ref.specifier,
            callee.name.text,
            callee.getText(),
          );
        }
      }
    }
    return undefined;
  }

  private exportedFunction(
    fromFile: string,
    specifier: string,
    exportName: string,
    label: string,
    depth = 0,
  ): FunctionRef | undefined {
    const { resolver, model, index } = this.context;
    const resolution = resolver.resolve(fromFile, specifier);
    if (resolution.kind !== 'file' || depth > 4) return undefined;
    const target = resolution.path;
    if (
      !model.fileSet.has(target) ||
      model.serviceOf(target) !== this.service ||
      model.isContract(target)
    )
      return undefined;
    const parsed = index.get(target);
    const fn = findFunction(parsed.sourceFile, exportName);
    if (fn) return { file: target, fn, name: label };
    for (const ref of parsed.imports) {
      if (ref.kind !== 'export') continue;
      const binding = ref.bindings.find((candidate) => candidate.local === exportName);
      if (binding || ref.bindings.length === 0) {
        const found = this.exportedFunction(
          target,
          ref.specifier,
          binding?.imported ?? exportName,
          label,
          depth + 1,
        );
        if (found) return found;
      }
    }
    return undefined;
  }
}

function firstPerService(traces: CallTrace[]): CallTrace[] {
  const seen = new Map<string, CallTrace>();
  for (const trace of traces) if (!seen.has(trace.service)) seen.set(trace.service, trace);
  return [...seen.values()];
}

function describeTrace(trace: CallTrace): string {
  const via = trace.chain.length > 0 ? ` via ${trace.chain.join(' → ')}` : '';
  return `${trace.service} (${trace.remote.description}${via} at ${trace.remote.file}:${trace.remote.line})`;
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

/** Names along a receiver: `deps.clients.inventory` → [deps, clients, inventory]; `this` is skipped. */
function receiverNames(expression: ts.Expression): string[] {
  if (ts.isIdentifier(expression)) return [expression.text];
  if (ts.isPropertyAccessExpression(expression))
    return [...receiverNames(expression.expression), expression.name.text];
  if (ts.isNonNullExpression(expression) || ts.isParenthesizedExpression(expression))
    return receiverNames(expression.expression);
  return [];
}

function isThisReceiver(expression: ts.Expression): boolean {
  let root = expression;
  while (ts.isPropertyAccessExpression(root)) root = root.expression;
  return root.kind === ts.SyntaxKind.ThisKeyword;
}

/** The name a created client is stored under: `const x = ...` (a variable), `{ x: ... }`, `this.x = ...`, fields. */
function bindingNameOf(call: ts.CallExpression): { name: string; isVariable: boolean } | undefined {
  let node: ts.Node = call;
  while (
    ts.isAwaitExpression(node.parent) ||
    ts.isParenthesizedExpression(node.parent) ||
    ts.isAsExpression(node.parent) ||
    ts.isConditionalExpression(node.parent) ||
    (ts.isBinaryExpression(node.parent) &&
      (node.parent.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        node.parent.operatorToken.kind === ts.SyntaxKind.BarBarToken))
  ) {
    node = node.parent;
  }
  const parent = node.parent;
  const withName = (name: string | undefined, isVariable: boolean) =>
    name === undefined ? undefined : { name, isVariable };
  if (ts.isVariableDeclaration(parent) && parent.initializer === node)
    return withName(staticName(parent.name), true);
  if (
    (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
    parent.initializer === node
  ) {
    return withName(staticName(parent.name), false);
  }
  if (
    ts.isBinaryExpression(parent) &&
    parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    parent.right === node
  ) {
    return ts.isPropertyAccessExpression(parent.left)
      ? withName(parent.left.name.text, false)
      : withName(staticName(parent.left), true);
  }
  return undefined;
}

/** A function declared in a block enclosing the call (`const step = async () => ...; await step()`). */
function findLocalFunction(identifier: ts.Identifier): ts.FunctionLikeDeclaration | undefined {
  for (let scope: ts.Node | undefined = identifier.parent; scope; scope = scope.parent) {
    if (ts.isBlock(scope) || ts.isSourceFile(scope)) {
      const found = findFunction(scope, identifier.text);
      if (found) return found;
    }
  }
  return undefined;
}

function findFunction(
  container: { statements: ts.NodeArray<ts.Statement> },
  name: string,
): ts.FunctionLikeDeclaration | undefined {
  for (const statement of container.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name && statement.body)
      return statement;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const initializer = declaration.initializer;
        if (
          ts.isIdentifier(declaration.name) &&
          declaration.name.text === name &&
          initializer &&
          (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer))
        ) {
          return initializer;
        }
      }
    }
  }
  return undefined;
}

function findDeclaration(identifier: ts.Identifier): ts.VariableDeclaration | undefined {
  for (let scope: ts.Node | undefined = identifier.parent; scope; scope = scope.parent) {
    if (!ts.isBlock(scope) && !ts.isSourceFile(scope)) continue;
    for (const statement of scope.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      const found = statement.declarationList.declarations.find(
        (declaration) =>
          ts.isIdentifier(declaration.name) && declaration.name.text === identifier.text,
      );
      if (found) return found;
    }
  }
  return undefined;
}

function findAncestor<T extends ts.Node>(
  node: ts.Node,
  test: (candidate: ts.Node) => candidate is T,
): T | undefined {
  for (let current = node.parent; current; current = current.parent)
    if (test(current)) return current;
  return undefined;
}

function containsSequence(words: string[], sequence: string[]): boolean {
  if (sequence.length === 0) return false;
  for (let start = 0; start + sequence.length <= words.length; start++) {
    if (sequence.every((word, offset) => words[start + offset] === word)) return true;
  }
  return false;
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
