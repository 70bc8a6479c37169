import ts from 'typescript';
import type { GuardProgram } from './program.ts';

/**
 * Where a value comes from: a module (`axios`, `node:http`, `@connectrpc/connect`, or `(global)`
 * for `fetch`) and the steps taken from it: member names, `()` for a call, `new` for a
 * construction, `<instance>` for a value known only by its declared type.
 */
export interface Origin {
  module: string;
  path: string[];
  /** The last call or `new` on the way (the factory call whose arguments name a service or a base URL). */
  created?: ts.CallExpression | ts.NewExpression;
  /** For values known by type: the type arguments written in the annotation (`Client<typeof OrderService>`). */
  typeArguments?: readonly ts.TypeNode[];
}

/** Values flowing into a property, found by the call graph (object literals, `this.x = ...`). */
export type PropertyValues = (symbol: ts.Symbol) => ts.Expression[];

/**
 * Follows a value back to the module it came from, through imports (renamed, namespace, default,
 * `require`, dynamic `import()`), variables, destructuring, property chains, calls, `new`, class
 * fields, and declared types of parameters and properties. Syntax-first where the checker has
 * nothing to say (a module that is not installed still has an import specifier).
 */
export class OriginTracker {
  private readonly memo = new Map<ts.Node, Origin | undefined>();
  private readonly active = new Set<ts.Node>();

  constructor(
    private readonly guard: GuardProgram,
    private readonly propertyValues: PropertyValues,
  ) {}

  originOf(expression: ts.Expression): Origin | undefined {
    const node = skipOuter(expression);
    if (this.memo.has(node)) return this.memo.get(node);
    if (this.active.has(node)) return undefined;
    this.active.add(node);
    const origin = this.compute(node);
    this.active.delete(node);
    this.memo.set(node, origin);
    return origin;
  }

  private compute(node: ts.Expression): Origin | undefined {
    if (ts.isIdentifier(node)) return this.identifierOrigin(node);
    if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const name = ts.isPropertyAccessExpression(node)
        ? node.name.text
        : ts.isStringLiteralLike(node.argumentExpression)
          ? node.argumentExpression.text
          : '[]';
      const base = this.originOf(node.expression);
      if (base) return { ...base, path: [...base.path, name] };
      const symbol = this.guard.checker.getSymbolAtLocation(
        ts.isPropertyAccessExpression(node) ? node.name : node.argumentExpression,
      );
      return symbol ? this.symbolOrigin(symbol) : undefined;
    }
    if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      if (
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
        first &&
        ts.isStringLiteralLike(first)
      ) {
        return { module: normalizeModule(first.text), path: [] };
      }
      const base = this.originOf(node.expression);
      return base ? { ...base, path: [...base.path, '()'], created: node } : undefined;
    }
    if (ts.isNewExpression(node)) {
      const base = this.originOf(node.expression);
      if (base) return { ...base, path: [...base.path, 'new'], created: node };
      // A generated gRPC client (`new CheckoutServiceClient(addr, credentials.createInsecure())`)
      // is known by the grpc-js credentials it is built with, even when its class is not resolvable.
      const grpc = (node.arguments ?? [])
        .map((argument) => this.originOf(argument)?.module)
        .find((module) => module === '@grpc/grpc-js' || module === 'grpc');
      return grpc ? { module: grpc, path: ['<client>', 'new'], created: node } : undefined;
    }
    if (ts.isConditionalExpression(node))
      return this.originOf(node.whenTrue) ?? this.originOf(node.whenFalse);
    if (
      ts.isBinaryExpression(node) &&
      (node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        node.operatorToken.kind === ts.SyntaxKind.BarBarToken)
    ) {
      return this.originOf(node.left) ?? this.originOf(node.right);
    }
    return undefined;
  }

  private identifierOrigin(node: ts.Identifier): Origin | undefined {
    const { checker } = this.guard;
    let symbol =
      ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node
        ? checker.getShorthandAssignmentValueSymbol(node.parent)
        : checker.getSymbolAtLocation(node);
    if (!symbol) {
      // Not declared anywhere the checker can see: a global (`fetch` without DOM/Node types).
      return { module: '(global)', path: [node.text] };
    }
    if (symbol.flags & ts.SymbolFlags.Alias) {
      const target = checker.getAliasedSymbol(symbol);
      if (!this.isProjectSymbol(target)) {
        const imported = importOrigin(symbol);
        if (imported) return imported;
      }
      symbol = target;
    }
    return this.symbolOrigin(symbol, node.text);
  }

  private symbolOrigin(symbol: ts.Symbol, name = symbol.name): Origin | undefined {
    const declarations = symbol.declarations ?? [];
    if (declarations.length === 0) return undefined;
    if (declarations.every((declaration) => this.isGlobalLibrary(declaration))) {
      return { module: '(global)', path: [name] };
    }
    for (const declaration of declarations) {
      const fromLibrary = this.libraryModuleOf(declaration);
      if (fromLibrary) return { module: fromLibrary, path: ['<instance>', name] };
      if (ts.isVariableDeclaration(declaration)) {
        if (ts.isIdentifier(declaration.name)) {
          if (declaration.initializer) {
            const origin = this.originOf(declaration.initializer);
            if (origin) return origin;
          }
          const typed = this.typeNodeOrigin(declaration.type);
          if (typed) return typed;
        }
      } else if (ts.isBindingElement(declaration)) {
        const origin = this.bindingElementOrigin(declaration);
        if (origin) return origin;
      } else if (ts.isParameter(declaration) || ts.isPropertySignature(declaration)) {
        const typed = this.typeNodeOrigin(declaration.type);
        if (typed) return typed;
      } else if (ts.isPropertyDeclaration(declaration) || ts.isPropertyAssignment(declaration)) {
        if (declaration.initializer) {
          const origin = this.originOf(declaration.initializer);
          if (origin) return origin;
        }
        if (ts.isPropertyDeclaration(declaration)) {
          const typed = this.typeNodeOrigin(declaration.type);
          if (typed) return typed;
        }
      } else if (ts.isShorthandPropertyAssignment(declaration)) {
        const origin = this.originOf(declaration.name);
        if (origin) return origin;
      }
    }
    // Interface members and fields assigned elsewhere: whatever the program puts there.
    if (
      declarations.some(
        (declaration) =>
          ts.isPropertySignature(declaration) ||
          ts.isPropertyDeclaration(declaration) ||
          ts.isParameter(declaration),
      )
    ) {
      for (const value of this.propertyValues(symbol)) {
        const origin = this.originOf(value);
        if (origin) return origin;
      }
    }
    return undefined;
  }

  /** `const { request } = require('undici')`, `const { a: { b } } = x`. */
  private bindingElementOrigin(element: ts.BindingElement): Origin | undefined {
    const pattern = element.parent;
    const key =
      (element.propertyName && ts.isIdentifier(element.propertyName)
        ? element.propertyName.text
        : undefined) ?? (ts.isIdentifier(element.name) ? element.name.text : undefined);
    if (!key || !ts.isObjectBindingPattern(pattern)) return undefined;
    const holder = pattern.parent;
    let base: Origin | undefined;
    if (ts.isVariableDeclaration(holder) && holder.initializer)
      base = this.originOf(holder.initializer);
    else if (ts.isBindingElement(holder)) base = this.bindingElementOrigin(holder);
    else if (ts.isParameter(holder)) base = this.typeNodeOrigin(holder.type);
    return base ? { ...base, path: [...base.path, key] } : undefined;
  }

  /** `Client<typeof OrderService>`, `AxiosInstance`, `http.Agent`: a type imported from a module. */
  private typeNodeOrigin(type: ts.TypeNode | undefined): Origin | undefined {
    if (!type) return undefined;
    if (ts.isUnionTypeNode(type)) {
      for (const member of type.types) {
        const origin = this.typeNodeOrigin(member);
        if (origin) return origin;
      }
      return undefined;
    }
    if (!ts.isTypeReferenceNode(type)) return undefined;
    const nameNode = ts.isQualifiedName(type.typeName) ? type.typeName.left : type.typeName;
    const typeName = ts.isQualifiedName(type.typeName)
      ? type.typeName.right.text
      : type.typeName.text;
    const symbol = this.guard.checker.getSymbolAtLocation(nameNode);
    if (!symbol) return undefined;
    let module: string | undefined;
    if (symbol.flags & ts.SymbolFlags.Alias) {
      const target = this.guard.checker.getAliasedSymbol(symbol);
      if (this.isProjectSymbol(target)) return undefined;
      module =
        importOrigin(symbol)?.module ??
        target.declarations?.map((declaration) => this.libraryModuleOf(declaration)).find(Boolean);
    } else {
      module = symbol.declarations
        ?.map((declaration) => this.libraryModuleOf(declaration))
        .find(Boolean);
    }
    if (!module) return undefined;
    return {
      module,
      path: ['<instance>', typeName],
      ...(type.typeArguments ? { typeArguments: type.typeArguments } : {}),
    };
  }

  /** Declared in this repository's code (an import of a project module is not a library). */
  private isProjectSymbol(symbol: ts.Symbol): boolean {
    const declarations = symbol.declarations ?? [];
    return (
      declarations.length > 0 &&
      declarations.every(
        (declaration) => this.guard.repoPath(declaration.getSourceFile()) !== undefined,
      )
    );
  }

  /** Declared in the default library or Node's globals (`fetch`, `setTimeout`). */
  private isGlobalLibrary(declaration: ts.Declaration): boolean {
    const sourceFile = declaration.getSourceFile();
    if (this.guard.program.isSourceFileDefaultLibrary(sourceFile)) return true;
    if (!sourceFile.fileName.includes('/node_modules/@types/node/')) return false;
    for (let node: ts.Node = declaration; node.parent; node = node.parent) {
      if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) return false;
    }
    return true;
  }

  /** The package a library declaration belongs to: `axios`, `node:http` for `@types/node/http.d.ts`. */
  private libraryModuleOf(declaration: ts.Declaration): string | undefined {
    const fileName = declaration.getSourceFile().fileName;
    if (!fileName.includes('/node_modules/')) return undefined;
    for (let node: ts.Node = declaration; node.parent; node = node.parent) {
      if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name))
        return normalizeModule(node.name.text);
    }
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(fileName);
    if (!match?.[1]) return undefined;
    const name = match[1];
    return name.startsWith('@types/') ? normalizeModule(name.slice('@types/'.length)) : name;
  }
}

/** An imported binding: module specifier plus the imported name (a default import is the module itself). */
function importOrigin(symbol: ts.Symbol): Origin | undefined {
  const declaration = symbol.declarations?.[0];
  if (!declaration) return undefined;
  const origin = importedFrom(declaration);
  return origin && !origin.module.startsWith('.') && !origin.module.startsWith('/')
    ? origin
    : undefined;
}

function importedFrom(declaration: ts.Declaration): Origin | undefined {
  if (ts.isImportSpecifier(declaration)) {
    const module = declaration.parent.parent.parent.moduleSpecifier;
    const imported = (declaration.propertyName ?? declaration.name).text;
    return ts.isStringLiteral(module)
      ? {
          module: normalizeModule(module.text),
          path: imported === 'default' ? [] : [imported],
        }
      : undefined;
  }
  if (ts.isImportClause(declaration) || ts.isNamespaceImport(declaration)) {
    const clause = ts.isImportClause(declaration) ? declaration : declaration.parent;
    const module = clause.parent.moduleSpecifier;
    return ts.isStringLiteral(module)
      ? { module: normalizeModule(module.text), path: [] }
      : undefined;
  }
  // In JavaScript, `const x = require('m')` (and `require('m').y`, `const { y } = require('m')`) is an import.
  if (ts.isVariableDeclaration(declaration) && declaration.initializer) {
    const required = requiredModule(declaration.initializer);
    if (required) return required;
  }
  if (ts.isBindingElement(declaration) && ts.isObjectBindingPattern(declaration.parent)) {
    const holder = declaration.parent.parent;
    const key =
      declaration.propertyName && ts.isIdentifier(declaration.propertyName)
        ? declaration.propertyName.text
        : ts.isIdentifier(declaration.name)
          ? declaration.name.text
          : undefined;
    const required =
      ts.isVariableDeclaration(holder) && holder.initializer && requiredModule(holder.initializer);
    if (required && key) return { ...required, path: [...required.path, key] };
  }
  if (
    ts.isImportEqualsDeclaration(declaration) &&
    ts.isExternalModuleReference(declaration.moduleReference) &&
    ts.isStringLiteral(declaration.moduleReference.expression)
  ) {
    return { module: normalizeModule(declaration.moduleReference.expression.text), path: [] };
  }
  return undefined;
}

/** `require('m')`, `require('m').a.b` → module `m`, path `[a, b]`. */
function requiredModule(expression: ts.Expression): Origin | undefined {
  const node = skipOuter(expression);
  if (ts.isPropertyAccessExpression(node)) {
    const base = requiredModule(node.expression);
    return base ? { ...base, path: [...base.path, node.name.text] } : undefined;
  }
  if (
    ts.isCallExpression(node) &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'require' &&
    node.arguments[0] &&
    ts.isStringLiteralLike(node.arguments[0])
  ) {
    return { module: normalizeModule(node.arguments[0].text), path: [] };
  }
  return undefined;
}

/** `node:http` and `http` are one module; subpaths of a package stay (`undici/types`). */
export function normalizeModule(specifier: string): string {
  const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
  return ['http', 'https', 'http2', 'net', 'events', 'timers', 'timers/promises'].includes(bare)
    ? `node:${bare}`
    : specifier;
}

export function skipOuter(expression: ts.Expression): ts.Expression {
  let node = expression;
  while (
    ts.isParenthesizedExpression(node) ||
    ts.isAwaitExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isTypeAssertionExpression(node)
  ) {
    node = node.expression;
  }
  return node;
}
