import ts from 'typescript';
import type { SourceLocation } from '../finding.ts';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { ServiceInfo } from '../repo-model.ts';
import type { RuleContext } from '../rule-context.ts';
import { calleeName, calleeText, isFunctionLike, nameWords, staticName } from '../source-index.ts';
import { OriginTracker, skipOuter, type Origin } from './origins.ts';
import { classifyOutbound, type OutboundCall } from './outbound.ts';
import type { GuardProgram } from './program.ts';

/** One call site on the way from a function to an outbound call. */
export interface Hop {
  /** What is called here: `reserveStock()`, `deps.stock.reserve()`. */
  label: string;
  at: SourceLocation;
}

/** Who is called: a service of this repository, or an endpoint named by its URL or client. */
export interface Target {
  /** Distinct targets are counted by key. */
  key: string;
  label: string;
  service?: string;
  /** The target is the enclosing function's parameter at this index: its caller decides. */
  param?: number;
}

export interface OutboundTrace {
  /** The call in the analysed function: the outbound call itself or the first helper call. */
  call: ts.CallExpression;
  /** Helper calls from the analysed function to the outbound call; the last hop is the outbound call. */
  hops: Hop[];
  /** The outbound call itself (in the analysed function or in a helper). */
  outboundCall: ts.CallExpression;
  outbound: OutboundCall;
  target: Target;
}

type FunctionNode = ts.FunctionLikeDeclaration;

const webFrameworks = new Set([
  'express',
  'fastify',
  'koa',
  '@koa/router',
  'koa-router',
  'hono',
  'restify',
  '@hapi/hapi',
  'polka',
  'h3',
  'elysia',
  'node:http',
  'node:https',
  'node:http2',
]);
const routeRegistrars = new Set([
  'get',
  'post',
  'put',
  'patch',
  'delete',
  'del',
  'all',
  'head',
  'options',
  'route',
  'createServer',
  'createSecureServer',
]);
const nestRouteDecorators = new Set([
  'Get',
  'Post',
  'Put',
  'Patch',
  'Delete',
  'All',
  'MessagePattern',
  'EventPattern',
  'GrpcMethod',
]);
/** Callbacks given to these run later, on their own: not part of the caller's request. */
const deferringCalls = new Set([
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'nextTick',
  'on',
  'once',
  'addListener',
  'addEventListener',
  'subscribe',
]);
/** Calls that run their callback before they return (or as part of the promise they return). */
const inlineCallbacks = new Set([
  'forEach',
  'map',
  'flatMap',
  'filter',
  'reduce',
  'some',
  'every',
  'find',
  'findIndex',
  'sort',
  'then',
  'catch',
  'finally',
]);
const urlWords = new Set([
  'endpoints',
  'client',
  'gateway',
  'http',
  'https',
  'url',
  'uri',
  'host',
  'hostname',
  'base',
  'endpoint',
  'addr',
  'address',
  'process',
  'env',
  'config',
  'cfg',
  'settings',
  'service',
  'svc',
  'api',
  'port',
  'origin',
  'server',
  'this',
  'deps',
  'options',
  'opts',
  'prefix',
  'root',
]);

/**
 * A call graph over the checked sources, resolved by the type checker: calls reach their
 * declarations across files and packages (imports, re-exports, class methods, object methods),
 * calls through interface-typed dependencies reach every implementation the program provides
 * (classes that implement the interface, object literals typed by it), and each call is asked
 * whether it leaves the process (see outbound.ts).
 */
export class CallGraph {
  readonly origins: OriginTracker;
  private readonly literalsByProperty = new Map<string, ts.ObjectLiteralExpression[]>();
  private readonly classesByMember = new Map<string, ts.ClassLikeDeclaration[]>();
  private readonly assignmentsByProperty = new Map<string, ts.BinaryExpression[]>();
  private readonly memo = new Map<ts.Node, OutboundTrace[]>();
  private readonly inProgress = new Set<ts.Node>();
  private readonly implementationMemo = new Map<ts.Node, FunctionNode[]>();
  private readonly outboundMemo = new Map<ts.CallExpression, OutboundCall | null>();
  /** Functions some analysed code calls as a helper. */
  readonly helperTargets = new Set<ts.Node>();

  constructor(
    readonly context: RuleContext,
    readonly guard: GuardProgram,
    readonly files: string[],
  ) {
    this.origins = new OriginTracker(guard, (symbol) => this.propertyValues(symbol));
    for (const file of files) this.indexFile(file);
  }

  private indexFile(file: string): void {
    const push = <T>(map: Map<string, T[]>, key: string, value: T): void => {
      const list = map.get(key);
      if (list) list.push(value);
      else map.set(key, [value]);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        for (const property of node.properties) {
          const name = staticName(property.name);
          if (name) push(this.literalsByProperty, name, node);
        }
      } else if (ts.isClassLike(node)) {
        for (const member of node.members) {
          const name = staticName(member.name);
          if (name) push(this.classesByMember, name, node);
        }
      } else if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(node.left)
      ) {
        push(this.assignmentsByProperty, node.left.name.text, node);
      }
      ts.forEachChild(node, visit);
    };
    visit(this.context.index.get(file).sourceFile);
  }

  repoFileOf(node: ts.Node): string | undefined {
    return this.guard.repoPath(node.getSourceFile());
  }

  location(node: ts.Node): SourceLocation {
    const sourceFile = node.getSourceFile();
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    return {
      file: this.repoFileOf(node) ?? sourceFile.fileName,
      line: line + 1,
      column: character + 1,
    };
  }

  /** Values the program stores in a property: object literals typed by its declaring type, `x.prop = value`. */
  propertyValues(symbol: ts.Symbol): ts.Expression[] {
    const { checker } = this.guard;
    const declarations = new Set<ts.Node>(symbol.declarations ?? []);
    const values: ts.Expression[] = [];
    const matches = (candidate: ts.Symbol | undefined): boolean =>
      (candidate?.declarations ?? []).some((declaration) => declarations.has(declaration));
    for (const literal of this.literalsByProperty.get(symbol.name) ?? []) {
      const contextual = checker.getContextualType(literal);
      if (!contextual || !matches(checker.getPropertyOfType(contextual, symbol.name))) continue;
      for (const property of literal.properties) {
        if (staticName(property.name) !== symbol.name) continue;
        if (ts.isPropertyAssignment(property)) values.push(property.initializer);
        else if (ts.isShorthandPropertyAssignment(property)) values.push(property.name);
      }
    }
    for (const assignment of this.assignmentsByProperty.get(symbol.name) ?? []) {
      const left = assignment.left as ts.PropertyAccessExpression;
      if (matches(checker.getSymbolAtLocation(left.name))) values.push(assignment.right);
    }
    return values;
  }

  /** Is this call an outbound request (HTTP or RPC)? */
  outboundOf(call: ts.CallExpression): OutboundCall | undefined {
    const cached = this.outboundMemo.get(call);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.computeOutbound(call);
    this.outboundMemo.set(call, found ?? null);
    return found;
  }

  private computeOutbound(call: ts.CallExpression): OutboundCall | undefined {
    const callee = call.expression;
    const origin = this.origins.originOf(callee);
    if (origin) {
      const outbound = classifyOutbound(call, origin) ?? this.configuredFactoryCall(origin);
      if (outbound) return outbound;
    }
    if (ts.isPropertyAccessExpression(callee)) {
      const typed = this.typedReceiverOrigin(callee);
      const outbound = typed && classifyOutbound(call, typed);
      if (outbound) return outbound;
      // Convention for clients whose type says nothing: a receiver named `<service>Client`.
      const receiver = staticName(
        ts.isPropertyAccessExpression(callee.expression)
          ? callee.expression.name
          : callee.expression,
      );
      const service = receiver ? this.serviceNamedClient(receiver) : undefined;
      if (service) return { kind: 'rpc', library: 'client', method: callee.name.text };
    }
    if (
      !origin &&
      matchesAnyGlob(calleeText(callee) ?? '', this.context.config.syncCalls.httpCallees) &&
      ts.isIdentifier(callee) === false &&
      call.arguments[0]
    ) {
      return { kind: 'http', library: calleeText(callee) ?? 'http', targetNode: call.arguments[0] };
    }
    return undefined;
  }

  /** `createRpcClient(OrderService, ...)`: a configured client factory with a contract descriptor. */
  private configuredFactoryCall(origin: Origin): OutboundCall | undefined {
    const factories = this.context.config.syncCalls.clientFactories;
    const index = origin.path.findIndex(
      (step, position) => factories.includes(step) && origin.path[position + 1] === '()',
    );
    if (index < 0 || origin.path.length !== index + 3 || !origin.created) return undefined;
    const descriptor = origin.created.arguments?.[0];
    if (!descriptor || !this.descriptorService(descriptor)) return undefined;
    return {
      kind: 'rpc',
      library: origin.module,
      method: origin.path.at(-1) ?? '',
      created: origin.created,
    };
  }

  /** The receiver's type, when it is declared in a library (`Client<typeof OrderService>` returned by a wrapper). */
  private typedReceiverOrigin(callee: ts.PropertyAccessExpression): Origin | undefined {
    const { checker } = this.guard;
    const type = checker.getTypeAtLocation(callee.expression);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const declaration = symbol?.declarations?.[0];
    if (!symbol || !declaration) return undefined;
    const fileName = declaration.getSourceFile().fileName;
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(fileName);
    if (!match?.[1]) return undefined;
    return { module: match[1], path: ['<instance>', symbol.name, callee.name.text] };
  }

  /** `inventoryClient` names a client of `inventory` by convention. */
  serviceNamedClient(name: string): string | undefined {
    const words = nameWords(name);
    if (words.at(-1) !== 'client') return undefined;
    const stem = words.slice(0, -1).join('-');
    return this.context.model.services.find(
      (service) => stem !== '' && nameWords(service.name).join('-') === stem,
    )?.name;
  }

  /** The service whose generated contract declares this descriptor (`OrderService` → order). */
  descriptorService(node: ts.Node): string | undefined {
    const { checker } = this.guard;
    const { model } = this.context;
    const expression = ts.isTypeQueryNode(node) ? node.exprName : node;
    const nameNode = ts.isQualifiedName(expression)
      ? expression.right
      : ts.isPropertyAccessExpression(expression)
        ? expression.name
        : expression;
    let symbol = checker.getSymbolAtLocation(nameNode);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) {
      const imported = symbol.declarations?.[0];
      const specifier = imported && importSpecifierOf(imported);
      const file = this.repoFileOf(node);
      if (specifier && file) {
        const resolution = this.context.resolver.resolve(file, specifier);
        if (resolution.kind === 'file') {
          const owner = model.contractOwnerOf(resolution.path);
          if (owner && model.isContract(resolution.path)) return owner;
        }
      }
      symbol = checker.getAliasedSymbol(symbol);
    }
    for (const declaration of symbol?.declarations ?? []) {
      const file = this.repoFileOf(declaration);
      if (file && model.isContract(file)) return model.contractOwnerOf(file);
    }
    const text = ts.isIdentifier(nameNode) ? nameNode.text : '';
    const words = nameWords(text).filter((word) => word !== 'service' && word !== 'client');
    return model.services.find((service) => nameWords(service.name).join('-') === words.join('-'))
      ?.name;
  }

  /** Where an outbound call goes. `within` is the function holding the call (for parameter-bound URLs). */
  targetOf(outbound: OutboundCall, call: ts.CallExpression, within?: FunctionNode): Target {
    const fallback = (): Target => {
      const at = this.location(call);
      return { key: `${at.file}:${at.line}:${at.column}`, label: describeCall(call) };
    };
    if (outbound.kind === 'rpc') {
      if (outbound.library === 'client' && ts.isPropertyAccessExpression(call.expression)) {
        const receiver = call.expression.expression;
        const name = staticName(ts.isPropertyAccessExpression(receiver) ? receiver.name : receiver);
        const service = name ? this.serviceNamedClient(name) : undefined;
        if (service) return { key: `service:${service}`, label: service, service };
      }
      const descriptor =
        outbound.created && ts.isCallExpression(outbound.created)
          ? outbound.created.arguments[0]
          : outbound.typeArguments?.[0];
      const service = descriptor ? this.descriptorService(descriptor) : undefined;
      if (service) return { key: `service:${service}`, label: service, service };
      if (ts.isPropertyAccessExpression(call.expression)) {
        const typeService = this.typeArgumentService(call.expression.expression);
        if (typeService)
          return { key: `service:${typeService}`, label: typeService, service: typeService };
      }
      if (descriptor) return this.keyTarget(descriptor.getText());
      if (outbound.created && ts.isNewExpression(outbound.created))
        return this.keyTarget(outbound.created.expression.getText());
      return fallback();
    }
    const base = outbound.created ? baseUrlOf(outbound.created) : undefined;
    let urlNode: ts.Node | undefined = outbound.targetNode;
    if (urlNode && ts.isObjectLiteralExpression(urlNode)) urlNode = urlProperty(urlNode);
    const fromUrl =
      urlNode && ts.isExpression(urlNode) ? this.urlTarget(urlNode, within) : undefined;
    if (fromUrl && (fromUrl.param !== undefined || !fromUrl.key.startsWith('path:')))
      return fromUrl;
    const fromBase = base ? this.urlTarget(base, within) : undefined;
    return fromBase ?? fromUrl ?? fallback();
  }

  /** `Client<typeof OrderService>` known only through the checker's type of the receiver. */
  private typeArgumentService(receiver: ts.Expression): string | undefined {
    const type = this.guard.checker.getTypeAtLocation(receiver);
    const argument = type.aliasTypeArguments?.[0];
    const declaration = argument?.getSymbol()?.declarations?.[0];
    const file = declaration && this.repoFileOf(declaration);
    return file && this.context.model.isContract(file)
      ? this.context.model.contractOwnerOf(file)
      : undefined;
  }

  private urlTarget(
    node: ts.Expression,
    within: FunctionNode | undefined,
    depth = 0,
  ): Target | undefined {
    const expression = skipOuter(node);
    if (depth > 6) return this.keyTarget(expression.getText());
    if (ts.isIdentifier(expression)) {
      const symbol = this.guard.checker.getSymbolAtLocation(expression);
      const declaration = symbol?.valueDeclaration;
      if (declaration && ts.isParameter(declaration) && within && declaration.parent === within) {
        return {
          key: 'param',
          label: expression.text,
          param: within.parameters.indexOf(declaration),
        };
      }
      if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer) {
        const isConst =
          (ts.getCombinedNodeFlags(declaration) & ts.NodeFlags.Const) !== 0 ||
          ts.isVariableDeclarationList(declaration.parent);
        if (isConst) {
          const inner = this.urlTarget(declaration.initializer, within, depth + 1);
          if (inner) return inner;
        }
      }
      return this.keyTarget(expression.text);
    }
    if (ts.isStringLiteralLike(expression)) {
      const host = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(expression.text)?.[1];
      return host
        ? this.keyTarget(host)
        : { key: `path:${expression.text}`, label: expression.text };
    }
    if (ts.isTemplateExpression(expression)) {
      const host = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#$]+)/i.exec(expression.head.text)?.[1];
      if (host) return this.keyTarget(host);
      const first = expression.templateSpans[0];
      if (first && /^(?:[a-z][a-z0-9+.-]*:\/\/)?$/i.test(expression.head.text))
        return this.urlTarget(first.expression, within, depth + 1);
      return { key: `path:${expression.head.text}`, label: expression.getText() };
    }
    if (
      ts.isBinaryExpression(expression) &&
      expression.operatorToken.kind === ts.SyntaxKind.PlusToken
    ) {
      const parts = flattenConcat(expression);
      const [head, next] = parts;
      if (
        head &&
        ts.isStringLiteralLike(head) &&
        /^[a-z][a-z0-9+.-]*:\/\/$/i.test(head.text) &&
        next
      )
        return this.urlTarget(next, within, depth + 1);
      return head ? this.urlTarget(head, within, depth + 1) : undefined;
    }
    if (ts.isNewExpression(expression) && expression.expression.getText() === 'URL') {
      const [path, base] = expression.arguments ?? [];
      const chosen = base ?? path;
      return chosen ? this.urlTarget(chosen, within, depth + 1) : undefined;
    }
    if (ts.isObjectLiteralExpression(expression)) {
      const property = urlProperty(expression);
      return property && ts.isExpression(property)
        ? this.urlTarget(property, within, depth + 1)
        : undefined;
    }
    if (ts.isPropertyAccessExpression(expression) || ts.isElementAccessExpression(expression)) {
      // `endpoints.customersUrl` → its initializer when the program has it (`'http://user/customers'`).
      const declaration = this.guard.checker.getSymbolAtLocation(
        ts.isPropertyAccessExpression(expression) ? expression.name : expression.argumentExpression,
      )?.valueDeclaration;
      if (declaration && ts.isPropertyAssignment(declaration) && this.isProjectNode(declaration)) {
        const inner = this.urlTarget(declaration.initializer, within, depth + 1);
        if (inner && !inner.key.startsWith('path:')) return inner;
      }
      return this.keyTarget(expression.getText());
    }
    if (ts.isCallExpression(expression) && calleeName(expression.expression) === 'format') {
      const [template] = expression.arguments;
      if (template && ts.isStringLiteralLike(template)) {
        const host = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#%]+)/i.exec(template.text)?.[1];
        if (host) return this.keyTarget(host);
      }
    }
    if (ts.isCallExpression(expression)) return this.keyTarget(expression.expression.getText());
    return undefined;
  }

  /** `config.inventoryUrl`, `process.env.PAYMENT_URL`, `inventory.internal` → a service when one is named. */
  keyTarget(text: string): Target {
    const words = nameWords(text);
    const service = this.context.model.services.find((candidate) =>
      containsSequence(words, nameWords(candidate.name)),
    );
    if (service)
      return { key: `service:${service.name}`, label: service.name, service: service.name };
    const meaningful = words.filter((word) => !urlWords.has(word) && !/^\d+$/.test(word));
    const key = meaningful.join('-') || text;
    return { key: `endpoint:${key}`, label: key };
  }

  /**
   * The functions a call runs: its declaration when it has a body, else every implementation of
   * the interface or type member it calls. Library functions are not followed.
   */
  targetsOf(call: ts.CallExpression): FunctionNode[] {
    const { checker } = this.guard;
    let declaration: ts.Declaration | undefined;
    try {
      declaration = checker.getResolvedSignature(call)?.declaration;
    } catch {
      declaration = undefined;
    }
    if (!declaration || ts.isJSDocSignature(declaration)) {
      const symbol = checker.getSymbolAtLocation(
        ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression,
      );
      const target =
        symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      declaration = target?.valueDeclaration;
      if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer) {
        const initializer = skipOuter(declaration.initializer);
        if (isFunctionLike(initializer)) declaration = initializer;
      }
    }
    if (!declaration) return [];
    if (!this.isProjectNode(declaration)) return [];
    if (isFunctionLike(declaration) && declaration.body) return [declaration];
    return this.implementationsOf(declaration);
  }

  private isProjectNode(node: ts.Node): boolean {
    const file = this.repoFileOf(node);
    return file !== undefined && !this.context.model.isContract(file);
  }

  /** Bodies that stand behind an interface/type member, an abstract method or an overload. */
  implementationsOf(declaration: ts.Node): FunctionNode[] {
    const cached = this.implementationMemo.get(declaration);
    if (cached) return cached;
    const found: FunctionNode[] = [];
    this.implementationMemo.set(declaration, found);
    const member =
      ts.isPropertySignature(declaration) ||
      ts.isMethodSignature(declaration) ||
      ts.isMethodDeclaration(declaration) ||
      ts.isPropertyDeclaration(declaration)
        ? declaration
        : ts.isFunctionTypeNode(declaration) && ts.isPropertySignature(declaration.parent)
          ? declaration.parent
          : undefined;
    const name = member && staticName(member.name);
    if (!member || !name) return found;
    const { checker } = this.guard;
    const container = member.parent;
    const containerSymbol =
      ts.isInterfaceDeclaration(container) || ts.isClassLike(container)
        ? container.name && checker.getSymbolAtLocation(container.name)
        : undefined;
    if (containerSymbol) {
      for (const candidate of this.classesByMember.get(name) ?? []) {
        if (candidate === container || !this.inherits(candidate, containerSymbol)) continue;
        const body = functionMember(candidate, name);
        if (body) found.push(body);
      }
    }
    const memberSymbol = checker.getSymbolAtLocation(member.name);
    if (memberSymbol) {
      for (const value of this.propertyValues(memberSymbol)) {
        const fn = this.functionOfValue(value);
        if (fn) found.push(fn);
      }
      for (const literal of this.literalsByProperty.get(name) ?? []) {
        const contextual = checker.getContextualType(literal);
        const property = contextual && checker.getPropertyOfType(contextual, name);
        if (!(property?.declarations ?? []).includes(member)) continue;
        for (const element of literal.properties) {
          if (ts.isMethodDeclaration(element) && staticName(element.name) === name && element.body)
            found.push(element);
        }
      }
    }
    return found;
  }

  private inherits(candidate: ts.ClassLikeDeclaration, base: ts.Symbol): boolean {
    const { checker } = this.guard;
    for (const clause of candidate.heritageClauses ?? []) {
      for (const type of clause.types) {
        let symbol = checker.getSymbolAtLocation(type.expression);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias)
          symbol = checker.getAliasedSymbol(symbol);
        if (symbol === base) return true;
      }
    }
    return false;
  }

  private functionOfValue(value: ts.Expression): FunctionNode | undefined {
    const expression = skipOuter(value);
    if (isFunctionLike(expression)) return expression;
    if (ts.isIdentifier(expression) || ts.isPropertyAccessExpression(expression)) {
      const { checker } = this.guard;
      let symbol = checker.getSymbolAtLocation(
        ts.isPropertyAccessExpression(expression) ? expression.name : expression,
      );
      if (ts.isShorthandPropertyAssignment(expression.parent))
        symbol = checker.getShorthandAssignmentValueSymbol(expression.parent);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const declaration = symbol?.valueDeclaration;
      if (declaration && isFunctionLike(declaration) && declaration.body) return declaration;
      if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer) {
        const initializer = skipOuter(declaration.initializer);
        if (isFunctionLike(initializer)) return initializer;
      }
    }
    return undefined;
  }

  /** What calling the function does: outbound calls it makes, directly or through helpers. */
  tracesOfFunction(fn: FunctionNode): OutboundTrace[] {
    this.helperTargets.add(fn);
    const cached = this.memo.get(fn);
    if (cached) return cached;
    if (this.inProgress.has(fn) || !fn.body) return [];
    this.inProgress.add(fn);
    const traces = this.tracesIn(fn.body, (node) => node !== fn && this.runsLater(node), fn);
    this.inProgress.delete(fn);
    this.memo.set(fn, traces);
    return traces;
  }

  /** Every call under `root` that leaves the process, directly or through helpers, with its path. */
  tracesIn(
    root: ts.Node,
    stopAt: (node: ts.Node) => boolean,
    within?: FunctionNode,
  ): OutboundTrace[] {
    const traces: OutboundTrace[] = [];
    const visit = (node: ts.Node): void => {
      if (stopAt(node)) return;
      if (ts.isCallExpression(node)) {
        const outbound = this.outboundOf(node);
        if (outbound) {
          traces.push({
            call: node,
            outboundCall: node,
            hops: [{ label: describeCall(node), at: this.location(node) }],
            outbound,
            target: this.targetOf(outbound, node, within),
          });
        } else {
          for (const fn of this.targetsOf(node)) {
            for (const inner of firstPerTarget(this.tracesOfFunction(fn))) {
              let target = inner.target;
              if (target.param !== undefined) {
                const argument = node.arguments[target.param];
                target =
                  (argument && this.urlTarget(argument, within)) ??
                  this.keyTarget(describeCall(inner.call));
              }
              traces.push({
                ...inner,
                call: node,
                hops: [{ label: describeCall(node), at: this.location(node) }, ...inner.hops],
                target,
              });
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(root);
    return traces;
  }

  /**
   * Functions written here but run at another time: declarations, methods, functions stored or
   * returned, and callbacks handed to timers and event registrations. Callbacks given to anything
   * else (`transaction`, `map`, `Promise.all`) run as part of the enclosing call.
   */
  runsLater(node: ts.Node): boolean {
    if (!isFunctionLike(node)) return false;
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) return true;
    if (ts.isConstructorDeclaration(node) || ts.isAccessor(node)) return true;
    const parent = node.parent;
    if (
      ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isExportAssignment(parent) ||
      ts.isReturnStatement(parent) ||
      (ts.isArrowFunction(parent) && parent.body === node)
    ) {
      return true;
    }
    if (ts.isNewExpression(parent)) return parent.expression.getText() !== 'Promise';
    if (ts.isCallExpression(parent) && parent.arguments.includes(node)) {
      const name = calleeName(parent.expression) ?? '';
      if (
        deferringCalls.has(name) ||
        this.context.config.syncCalls.registrars.includes(name) ||
        this.isFrameworkRegistration(parent)
      ) {
        return true;
      }
      // A callback handed to a call whose result nobody waits for is kept for later (`readiness('x', check)`);
      // iteration helpers and awaited calls (`await db.transaction(work)`) run it now.
      return !inlineCallbacks.has(name) && isDiscarded(parent);
    }
    return false;
  }

  /** `app.post('/x', handler)`, `createServer(handler)`, `router.get(...)` on a web framework's object. */
  isFrameworkRegistration(call: ts.CallExpression): boolean {
    const name = calleeName(call.expression);
    if (!name || !routeRegistrars.has(name)) return false;
    const origin = this.origins.originOf(call.expression);
    if (origin && webFrameworks.has(origin.module)) {
      if (origin.module.startsWith('node:'))
        return name === 'createServer' || name === 'createSecureServer';
      return true;
    }
    if (ts.isPropertyAccessExpression(call.expression)) {
      const typed = this.typedReceiverOrigin(call.expression);
      return typed !== undefined && webFrameworks.has(typed.module);
    }
    return false;
  }

  /**
   * Request and event handlers in a file: every function that runs later in a configured handler
   * file, and anywhere: callbacks registered on a web framework, Next.js API routes, NestJS
   * route methods, and implementations handed to a Connect/gRPC router.
   */
  handlerUnits(file: string): FunctionNode[] {
    const { config } = this.context;
    const inHandlerFile = matchesAnyGlob(file, config.syncCalls.handlers);
    const nextRoute = /(?:^|\/)pages\/api\//.test(file);
    const appRoute = /(?:^|\/)app\/(?:.*\/)?route\.[cm]?[jt]sx?$/.test(file);
    const units: FunctionNode[] = [];
    const visit = (node: ts.Node): void => {
      if (
        isFunctionLike(node) &&
        node.body &&
        this.isHandler(node, inHandlerFile, nextRoute, appRoute)
      )
        units.push(node);
      ts.forEachChild(node, visit);
    };
    visit(this.context.index.get(file).sourceFile);
    return units;
  }

  private isHandler(
    fn: FunctionNode,
    inHandlerFile: boolean,
    nextRoute: boolean,
    appRoute: boolean,
  ): boolean {
    const parent = fn.parent;
    if (
      inHandlerFile &&
      this.runsLater(fn) &&
      !ts.isConstructorDeclaration(fn) &&
      !ts.isAccessor(fn)
    ) {
      if (ts.isCallExpression(parent)) {
        const name = calleeName(parent.expression) ?? '';
        return (
          this.context.config.syncCalls.registrars.includes(name) ||
          this.isFrameworkRegistration(parent)
        );
      }
      return true;
    }
    if (ts.isCallExpression(parent) && parent.arguments.includes(fn as ts.Expression))
      return this.isFrameworkRegistration(parent);
    if (ts.isPropertyAssignment(parent) && staticName(parent.name) === 'handler') {
      const call = parent.parent.parent;
      if (ts.isCallExpression(call) && this.isFrameworkRegistration(call)) return true;
    }
    if (nextRoute && (isDefaultExport(fn) || isDefaultExportedVariable(fn))) return true;
    if (
      appRoute &&
      ts.isFunctionDeclaration(fn) &&
      isExported(fn) &&
      /^(?:GET|POST|PUT|PATCH|DELETE)$/.test(fn.name?.text ?? '')
    )
      return true;
    if (ts.isMethodDeclaration(fn)) {
      for (const decorator of ts.getDecorators(fn) ?? []) {
        const expression = decorator.expression;
        const name = ts.isCallExpression(expression)
          ? calleeName(expression.expression)
          : calleeName(expression);
        if (name && nestRouteDecorators.has(name)) return true;
      }
    }
    // Methods of an implementation object handed to `router.service(Desc, impl)` / `server.addService(def, impl)`.
    if (
      (ts.isMethodDeclaration(fn) || ts.isPropertyAssignment(parent)) &&
      ts.isObjectLiteralExpression(ts.isMethodDeclaration(fn) ? parent : parent.parent)
    ) {
      const literal = (
        ts.isMethodDeclaration(fn) ? parent : parent.parent
      ) as ts.ObjectLiteralExpression;
      const call = literal.parent;
      if (
        ts.isCallExpression(call) &&
        call.arguments.includes(literal) &&
        ['service', 'addService'].includes(calleeName(call.expression) ?? '')
      ) {
        return true;
      }
    }
    return false;
  }

  serviceOfFile(file: string): ServiceInfo | undefined {
    return this.context.model.serviceOf(file);
  }
}

/** `x(...);` as a statement: its result (a promise the caller would wait on) is dropped. */
function isDiscarded(call: ts.CallExpression): boolean {
  let node: ts.Node = call;
  while (ts.isParenthesizedExpression(node.parent)) node = node.parent;
  return ts.isExpressionStatement(node.parent) || ts.isVoidExpression(node.parent);
}

export function firstPerTarget(traces: OutboundTrace[]): OutboundTrace[] {
  const seen = new Map<string, OutboundTrace>();
  for (const trace of traces) if (!seen.has(trace.target.key)) seen.set(trace.target.key, trace);
  return [...seen.values()];
}

export function describeCall(call: ts.CallExpression): string {
  const text = calleeText(call.expression) ?? call.expression.getText();
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  const [first] = call.arguments;
  const argument =
    first &&
    (ts.isStringLiteralLike(first) || ts.isTemplateExpression(first)) &&
    first.getText().length <= 60
      ? first.getText()
      : '';
  return `${short}(${argument})`;
}

function importSpecifierOf(declaration: ts.Declaration): string | undefined {
  let node: ts.Node | undefined = declaration;
  while (node && !ts.isImportDeclaration(node)) node = node.parent;
  return node && ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : undefined;
}

function functionMember(
  candidate: ts.ClassLikeDeclaration,
  name: string,
): FunctionNode | undefined {
  for (const member of candidate.members) {
    if (staticName(member.name) !== name) continue;
    if (ts.isMethodDeclaration(member) && member.body) return member;
    if (ts.isPropertyDeclaration(member) && member.initializer) {
      const initializer = skipOuter(member.initializer);
      if (isFunctionLike(initializer)) return initializer;
    }
  }
  return undefined;
}

function urlProperty(literal: ts.ObjectLiteralExpression): ts.Expression | undefined {
  for (const key of [
    'url',
    'uri',
    'baseURL',
    'baseUrl',
    'prefixUrl',
    'prefix',
    'origin',
    'hostname',
    'host',
  ]) {
    for (const property of literal.properties) {
      if (ts.isPropertyAssignment(property) && staticName(property.name) === key)
        return property.initializer;
      if (ts.isShorthandPropertyAssignment(property) && property.name.text === key)
        return property.name;
    }
  }
  return undefined;
}

/** `axios.create({ baseURL })`, `got.extend({ prefixUrl })`, `new Pool(url)`, `createConnectTransport({ baseUrl })`. */
function baseUrlOf(created: ts.CallExpression | ts.NewExpression): ts.Expression | undefined {
  const [first] = created.arguments ?? [];
  if (!first) return undefined;
  if (ts.isObjectLiteralExpression(first)) return urlProperty(first);
  return first;
}

function flattenConcat(expression: ts.Expression): ts.Expression[] {
  const node = skipOuter(expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)
    return [...flattenConcat(node.left), ...flattenConcat(node.right)];
  return [node];
}

function containsSequence(words: string[], sequence: string[]): boolean {
  if (sequence.length === 0) return false;
  for (let start = 0; start + sequence.length <= words.length; start++) {
    if (sequence.every((word, offset) => words[start + offset] === word)) return true;
  }
  return false;
}

function isDefaultExport(fn: FunctionNode): boolean {
  if (ts.isFunctionDeclaration(fn)) {
    const flags: number = ts.getCombinedModifierFlags(fn);
    const exportDefault: number = ts.ModifierFlags.ExportDefault;
    return (flags & exportDefault) === exportDefault;
  }
  return ts.isExportAssignment(fn.parent);
}

/** `const handler = async (req, res) => ...; export default withTelemetry(handler);` */
function isDefaultExportedVariable(fn: FunctionNode): boolean {
  const declaration = fn.parent;
  if (!ts.isVariableDeclaration(declaration) || !ts.isIdentifier(declaration.name)) return false;
  const name = declaration.name.text;
  const sourceFile = fn.getSourceFile();
  return sourceFile.statements.some(
    (statement) =>
      ts.isExportAssignment(statement) &&
      !statement.isExportEquals &&
      new RegExp(`\\b${name}\\b`).test(statement.expression.getText()),
  );
}

function isExported(fn: ts.FunctionDeclaration): boolean {
  return (ts.getCombinedModifierFlags(fn) & ts.ModifierFlags.Export) !== 0;
}
