import { join } from 'node:path';
import ts from 'typescript';
import type { RepoModel } from './repo-model.ts';
import type { SourceLocation } from './finding.ts';

export interface ImportBinding {
  local: string;
  /** Exported name, `default`, or `*` for a namespace import. */
  imported: string;
}

export interface ImportRef {
  specifier: string;
  /** The module specifier literal, where findings about this import point. */
  node: ts.Node;
  kind: 'import' | 'export' | 'dynamic' | 'require';
  bindings: ImportBinding[];
}

export interface ParsedFile {
  file: string;
  sourceFile: ts.SourceFile;
  imports: ImportRef[];
}

/** Parses each file once; rules and the type checker's program share the ASTs. */
export class SourceIndex {
  private readonly parsed = new Map<string, ParsedFile>();

  constructor(private readonly model: RepoModel) {}

  get(file: string): ParsedFile {
    let parsed = this.parsed.get(file);
    if (!parsed) {
      // Absolute names: the type checker's program shares these ASTs (analysis/program.ts).
      const sourceFile = ts.createSourceFile(
        join(this.model.root, file),
        this.model.readText(file),
        ts.ScriptTarget.Latest,
        true,
        scriptKindOf(file),
      );
      parsed = { file, sourceFile, imports: collectImports(sourceFile) };
      this.parsed.set(file, parsed);
    }
    return parsed;
  }

  /** The binding a local identifier refers to when it was imported into the file. */
  importOf(file: string, local: string): { ref: ImportRef; binding: ImportBinding } | undefined {
    for (const ref of this.get(file).imports) {
      const binding = ref.bindings.find((candidate) => candidate.local === local);
      if (binding) return { ref, binding };
    }
    return undefined;
  }
}

function scriptKindOf(file: string): ts.ScriptKind {
  if (file.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (file.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(file)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

function collectImports(sourceFile: ts.SourceFile): ImportRef[] {
  const imports: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      imports.push({
        specifier: node.moduleSpecifier.text,
        node: node.moduleSpecifier,
        kind: 'import',
        bindings: importClauseBindings(node.importClause),
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const bindings: ImportBinding[] = [];
      if (node.exportClause && ts.isNamedExports(node.exportClause)) {
        for (const element of node.exportClause.elements) {
          bindings.push({
            local: element.name.text,
            imported: (element.propertyName ?? element.name).text,
          });
        }
      }
      imports.push({
        specifier: node.moduleSpecifier.text,
        node: node.moduleSpecifier,
        kind: 'export',
        bindings,
      });
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      imports.push({
        specifier: node.moduleReference.expression.text,
        node: node.moduleReference.expression,
        kind: 'require',
        bindings: [{ local: node.name.text, imported: '*' }],
      });
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const [first] = node.arguments;
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isDynamicImport || isRequire) && first && ts.isStringLiteralLike(first)) {
        imports.push({
          specifier: first.text,
          node: first,
          kind: isDynamicImport ? 'dynamic' : 'require',
          bindings: requireBindings(node),
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return imports;
}

function importClauseBindings(clause: ts.ImportClause | undefined): ImportBinding[] {
  if (!clause) return [];
  const bindings: ImportBinding[] = [];
  if (clause.name) bindings.push({ local: clause.name.text, imported: 'default' });
  const named = clause.namedBindings;
  if (named && ts.isNamespaceImport(named))
    bindings.push({ local: named.name.text, imported: '*' });
  if (named && ts.isNamedImports(named)) {
    for (const element of named.elements) {
      bindings.push({
        local: element.name.text,
        imported: (element.propertyName ?? element.name).text,
      });
    }
  }
  return bindings;
}

/** `const { a: b } = require('x')` / `const x = await import('x')` bind names like an import does. */
function requireBindings(call: ts.CallExpression): ImportBinding[] {
  let parent: ts.Node = call.parent;
  if (ts.isAwaitExpression(parent)) parent = parent.parent;
  if (!ts.isVariableDeclaration(parent)) return [];
  if (ts.isIdentifier(parent.name)) return [{ local: parent.name.text, imported: '*' }];
  if (ts.isObjectBindingPattern(parent.name)) {
    return parent.name.elements.flatMap((element) =>
      ts.isIdentifier(element.name)
        ? [
            {
              local: element.name.text,
              imported:
                element.propertyName && ts.isIdentifier(element.propertyName)
                  ? element.propertyName.text
                  : element.name.text,
            },
          ]
        : [],
    );
  }
  return [];
}

export function locationOf(file: string, node: ts.Node): SourceLocation {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file, line: line + 1, column: character + 1 };
}

export function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** `a.b.c` for property chains, the name for identifiers, undefined for anything else. */
export function calleeText(expression: ts.Expression): string | undefined {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) {
    const receiver = calleeText(expression.expression);
    return receiver === undefined ? undefined : `${receiver}.${expression.name.text}`;
  }
  if (expression.kind === ts.SyntaxKind.ThisKeyword) return 'this';
  return undefined;
}

/** The last name in a callee: `listen` for `app.server.listen`, `fetch` for `fetch`. */
export function calleeName(expression: ts.Expression): string | undefined {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  return undefined;
}

/** Splits `connectionTimeoutMillis` / `MAX_RETRIES` / `api-key` into lower-case words. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/** The text of a property name or binding name when it is a plain identifier or string. */
export function staticName(name: ts.Node | undefined): string | undefined {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))
    return name.text;
  if (ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  return undefined;
}
