import ts from 'typescript';
import type { GuardConfig } from '../config-loader.ts';
import type { RawFinding } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import type { SourceIndex } from '../source-index.ts';
import { calleeName, calleeText, locationOf, nameWords, staticName } from '../source-index.ts';

const rule = 'no-hardcoded-config';
const fix =
  'Add a key to the config schema (with its default there), set it in config/*.yaml or ORDERLY_* env, and pass the value in.';

const connectionSchemes =
  'postgres|postgresql|mysql|mariadb|mongodb|mongodb\\+srv|redis|rediss|nats|tls|amqp|amqps|kafka|sqlserver|mssql|ldap|smtp';
const connectionStringPattern = new RegExp(`\\b(?:${connectionSchemes})://[^\\s'"\`]+`, 'i');
const urlPattern = /\b(?:https?|wss?|grpcs?|tcp|udp|ftp):\/\/[^\s'"`]+/i;
const ipPattern =
  /(?:^|[^\d.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\d.])/;
const hostPortPattern = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*:\d{2,5}$/i;
const localhostPattern = /\blocalhost\b/i;
const hostWords = new Set([
  'host',
  'hostname',
  'server',
  'servers',
  'broker',
  'brokers',
  'endpoint',
  'url',
  'uri',
  'dsn',
]);
const secretWords = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'credential',
  'credentials',
  'passphrase',
]);
const keyQualifiers = new Set(['api', 'private', 'access', 'secret', 'signing', 'encryption']);
/** Values that hide a secret rather than being one: `'***'`, `'[REDACTED]'`, `'<token>'`. */
const redactionMask = /^(?:[*x•.]+|<[^>]*>|\[[^\]]*\]|redacted)$/i;
const timersModules = new Set(['timers/promises', 'node:timers/promises']);

interface Evaluated {
  value: number;
  /** The const declaration the value came through, when the use site is an identifier. */
  declaration?: ts.VariableDeclaration;
}

/**
 * Endpoints, credentials, durations and limits written as literals outside config files,
 * config schemas and tests. One finding per literal; a named constant is reported where
 * it is declared, an anonymous one (`const t = 5 * 1000`) where it is used as a duration.
 */
export function noHardcodedConfigRule({ model, index, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  for (const file of model.sourceFiles()) {
    if (model.isTestFile(file) || model.isConfigFile(file)) continue;
    findings.push(...checkFile(file, index, config));
  }
  return findings;
}

function checkFile(file: string, index: SourceIndex, config: GuardConfig): RawFinding[] {
  const findings: RawFinding[] = [];
  const settings = config.hardcodedConfig;
  const reportedDeclarations = new Set<ts.VariableDeclaration>();
  const reportedNodes = new Set<ts.Node>();
  const report = (node: ts.Node, message: string): void => {
    if (reportedNodes.has(node)) return;
    reportedNodes.add(node);
    findings.push({ rule, ...locationOf(file, node), message, fix });
  };

  // Quoted keys like 'deadline-exceeded' are data (status maps, headers), not option names.
  const isConfigName = (name: string): boolean =>
    /^[A-Za-z_$][\w$]*$/.test(name) &&
    (settings.numericNames.includes(name.toLowerCase()) ||
      nameWords(name).some((word) => settings.numericNameWords.includes(word)));

  const checkNumericValue = (
    valueNode: ts.Expression,
    describe: (text: string) => string,
  ): void => {
    for (const candidate of numericCandidates(valueNode)) {
      const evaluated = evaluate(candidate);
      if (!evaluated || settings.allowedNumbers.includes(evaluated.value)) continue;
      if (evaluated.declaration && reportedDeclarations.has(evaluated.declaration)) continue;
      const origin = evaluated.declaration?.initializer;
      const text = origin
        ? `${candidate.getText()} (computed from literal ${origin.getText()} on line ${locationOf(file, origin).line})`
        : candidate.getText();
      report(candidate, describe(text));
    }
  };

  const visitNumeric = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.initializer && ts.isIdentifier(node.name)) {
      const name = node.name.text;
      if (isConfigName(name) && isConstDeclaration(node)) {
        const evaluated = numericCandidates(node.initializer).map(evaluate).find(Boolean);
        if (
          evaluated &&
          !settings.allowedNumbers.includes(evaluated.value) &&
          !evaluated.declaration
        ) {
          reportedDeclarations.add(node);
          report(
            node.initializer,
            `${describeName(name)} ${name} is hardcoded as ${node.initializer.getText()}`,
          );
        }
      }
    } else if (
      (ts.isPropertyAssignment(node) || ts.isParameter(node) || ts.isPropertyDeclaration(node)) &&
      node.initializer
    ) {
      const name = staticName(node.name);
      if (name && isConfigName(name)) {
        checkNumericValue(
          node.initializer,
          (text) => `${describeName(name)} ${name} is hardcoded as ${text}`,
        );
      }
    } else if (ts.isShorthandPropertyAssignment(node) && isConfigName(node.name.text)) {
      const name = node.name.text;
      checkNumericValue(
        node.name,
        (text) => `${describeName(name)} ${name} is hardcoded as ${text}`,
      );
    } else if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(node.left) &&
      isConfigName(node.left.name.text)
    ) {
      const name = node.left.name.text;
      checkNumericValue(
        node.right,
        (text) => `${describeName(name)} ${name} is hardcoded as ${text}`,
      );
    } else if (ts.isCallExpression(node)) {
      const argumentIndex = numericArgumentIndex(node, file, index, settings.numericCalls);
      const argument = argumentIndex === undefined ? undefined : node.arguments[argumentIndex];
      if (argument) {
        const callee = calleeText(node.expression) ?? 'call';
        const what = calleeName(node.expression) === 'listen' ? 'port' : 'duration';
        checkNumericValue(argument, (text) => `${callee}() gets a hardcoded ${what} ${text}`);
      }
    }
    ts.forEachChild(node, visitNumeric);
  };

  const visitStrings = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (!isIgnoredStringContext(node)) {
        const message = classifyString(
          node.text,
          assignedName(node),
          settings.allowedUrlPrefixes,
          true,
        );
        if (message) report(node, message);
      }
    } else if (ts.isTemplateExpression(node)) {
      const parts = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)];
      const message = parts
        .map((part) => classifyString(part, undefined, settings.allowedUrlPrefixes, false))
        .find(Boolean);
      if (message) report(node, message);
    }
    ts.forEachChild(node, visitStrings);
  };

  const sourceFile = index.get(file).sourceFile;
  visitNumeric(sourceFile);
  visitStrings(sourceFile);
  return findings;
}

function describeName(name: string): string {
  const words = nameWords(name);
  if (words.includes('port')) return 'port';
  if (
    words.some((word) =>
      ['retries', 'retry', 'attempts', 'pool', 'max', 'min', 'concurrency', 'connections'].includes(
        word,
      ),
    )
  ) {
    return 'limit';
  }
  return 'duration';
}

/**
 * Which argument of this call is a duration or port, if any. `setTimeout` from
 * `node:timers/promises` takes the delay first, the global one second.
 */
function numericArgumentIndex(
  call: ts.CallExpression,
  file: string,
  index: SourceIndex,
  numericCalls: Record<string, number>,
): number | undefined {
  if (ts.isIdentifier(call.expression)) {
    const imported = index.importOf(file, call.expression.text);
    if (imported && timersModules.has(imported.ref.specifier)) {
      return imported.binding.imported === 'setTimeout' ||
        imported.binding.imported === 'setInterval'
        ? 0
        : undefined;
    }
  }
  const text = calleeText(call.expression);
  if (text !== undefined && numericCalls[text] !== undefined) return numericCalls[text];
  const name = calleeName(call.expression);
  if (name !== undefined && !name.includes('.') && numericCalls[name] !== undefined)
    return numericCalls[name];
  return undefined;
}

/** The values a property could end up with: both sides of `??`/`||`, both branches of `?:`. */
function numericCandidates(expression: ts.Expression): ts.Expression[] {
  const node = unwrap(expression);
  if (
    ts.isBinaryExpression(node) &&
    (node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
      node.operatorToken.kind === ts.SyntaxKind.BarBarToken)
  ) {
    return [...numericCandidates(node.left), ...numericCandidates(node.right)];
  }
  if (ts.isConditionalExpression(node))
    return [...numericCandidates(node.whenTrue), ...numericCandidates(node.whenFalse)];
  if (
    ts.isCallExpression(node) &&
    ts.isIdentifier(node.expression) &&
    ['Number', 'parseInt', 'parseFloat'].includes(node.expression.text) &&
    node.arguments[0]
  ) {
    return numericCandidates(node.arguments[0]);
  }
  return [node];
}

function unwrap(expression: ts.Expression): ts.Expression {
  let node = expression;
  while (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isTypeAssertionExpression(node)
  ) {
    node = node.expression;
  }
  return node;
}

/** Folds literal arithmetic, following identifiers to `const` declarations in scope. */
function evaluate(expression: ts.Expression, depth = 0): Evaluated | undefined {
  if (depth > 8) return undefined;
  const node = unwrap(expression);
  if (ts.isNumericLiteral(node)) return { value: Number(node.text.replaceAll('_', '')) };
  if (ts.isPrefixUnaryExpression(node)) {
    const operand = evaluate(node.operand, depth + 1);
    if (!operand) return undefined;
    if (node.operator === ts.SyntaxKind.MinusToken) return { ...operand, value: -operand.value };
    if (node.operator === ts.SyntaxKind.PlusToken) return operand;
    return undefined;
  }
  if (ts.isBinaryExpression(node)) {
    const left = evaluate(node.left, depth + 1);
    const right = left && evaluate(node.right, depth + 1);
    if (!left || !right) return undefined;
    const value = arithmetic(node.operatorToken.kind, left.value, right.value);
    const declaration = left.declaration ?? right.declaration;
    return value === undefined ? undefined : { value, ...(declaration ? { declaration } : {}) };
  }
  if (ts.isIdentifier(node)) {
    const declaration = findConstDeclaration(node);
    if (!declaration?.initializer) return undefined;
    const inner = evaluate(declaration.initializer, depth + 1);
    return inner
      ? { value: inner.value, declaration: inner.declaration ?? declaration }
      : undefined;
  }
  return undefined;
}

function arithmetic(operator: ts.SyntaxKind, left: number, right: number): number | undefined {
  switch (operator) {
    case ts.SyntaxKind.PlusToken:
      return left + right;
    case ts.SyntaxKind.MinusToken:
      return left - right;
    case ts.SyntaxKind.AsteriskToken:
      return left * right;
    case ts.SyntaxKind.SlashToken:
      return left / right;
    case ts.SyntaxKind.PercentToken:
      return left % right;
    case ts.SyntaxKind.AsteriskAsteriskToken:
      return left ** right;
    default:
      return undefined;
  }
}

function isConstDeclaration(declaration: ts.VariableDeclaration): boolean {
  const list = declaration.parent;
  return ts.isVariableDeclarationList(list) && (list.flags & ts.NodeFlags.Const) !== 0;
}

/** The nearest enclosing `const name = ...` visible from the identifier (block scoping, no hoisting tricks). */
function findConstDeclaration(identifier: ts.Identifier): ts.VariableDeclaration | undefined {
  for (let scope: ts.Node | undefined = identifier.parent; scope; scope = scope.parent) {
    if (
      !ts.isBlock(scope) &&
      !ts.isSourceFile(scope) &&
      !ts.isModuleBlock(scope) &&
      !ts.isCaseClause(scope)
    )
      continue;
    for (const statement of scope.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (
          ts.isIdentifier(declaration.name) &&
          declaration.name.text === identifier.text &&
          declaration.name !== identifier
        ) {
          return isConstDeclaration(declaration) ? declaration : undefined;
        }
      }
    }
  }
  return undefined;
}

function isIgnoredStringContext(
  node: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral,
): boolean {
  const parent = node.parent;
  if (
    ts.isImportDeclaration(parent) ||
    ts.isExportDeclaration(parent) ||
    ts.isExternalModuleReference(parent)
  )
    return true;
  if (ts.isLiteralTypeNode(parent)) return true;
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isEnumMember(parent)) &&
    parent.name === node
  ) {
    return true;
  }
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression;
    if (callee.kind === ts.SyntaxKind.ImportKeyword) return true;
    if (ts.isIdentifier(callee) && callee.text === 'require') return true;
  }
  return false;
}

/** The property/variable/parameter name a literal is assigned to, looking through `??`, `||` and `?:`. */
function assignedName(node: ts.Node): string | undefined {
  let current: ts.Node = node;
  for (;;) {
    const parent = current.parent;
    if (!parent) return undefined;
    if (
      ts.isParenthesizedExpression(parent) ||
      ts.isAsExpression(parent) ||
      ts.isSatisfiesExpression(parent) ||
      ts.isConditionalExpression(parent) ||
      (ts.isBinaryExpression(parent) &&
        (parent.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
          parent.operatorToken.kind === ts.SyntaxKind.BarBarToken))
    ) {
      current = parent;
      continue;
    }
    if (
      (ts.isPropertyAssignment(parent) ||
        ts.isVariableDeclaration(parent) ||
        ts.isParameter(parent) ||
        ts.isPropertyDeclaration(parent) ||
        ts.isBindingElement(parent)) &&
      parent.initializer === current
    ) {
      return staticName(parent.name);
    }
    if (
      ts.isBinaryExpression(parent) &&
      parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      parent.right === current
    ) {
      return ts.isPropertyAccessExpression(parent.left)
        ? parent.left.name.text
        : staticName(parent.left);
    }
    return undefined;
  }
}

function classifyString(
  text: string,
  name: string | undefined,
  allowedUrlPrefixes: string[],
  whole: boolean,
): string | undefined {
  if (text.trim() === '') return undefined;
  const connection = connectionStringPattern.exec(text);
  if (connection) return `connection string ${redact(connection[0])} is hardcoded`;
  const url = urlPattern.exec(text);
  if (url && !allowedUrlPrefixes.some((prefix) => url[0].startsWith(prefix)))
    return `URL ${url[0]} is hardcoded`;
  if (!whole) return undefined;
  const words = name === undefined ? [] : nameWords(name);
  const last = words.at(-1);
  const isSecretName =
    last !== undefined &&
    (secretWords.has(last) ||
      (last === 'key' && words.length > 1 && keyQualifiers.has(words.at(-2) ?? '')) ||
      name === 'apiKey');
  if (isSecretName && !redactionMask.test(text)) return `credential ${name} is hardcoded`;
  const ip = ipPattern.exec(text);
  if (ip?.[1]) return `IP address ${ip[1]} is hardcoded`;
  if (hostPortPattern.test(text) || localhostPattern.test(text)) return `host ${text} is hardcoded`;
  const isHostName =
    words.some((word) => hostWords.has(word)) ||
    (words.includes('connection') && words.includes('string'));
  if (isHostName && !/^[/.#?]/.test(text) && !/\s/.test(text))
    return `host/endpoint ${name} is hardcoded as '${text}'`;
  return undefined;
}

/** Never echo a password that sits inside a connection string. */
function redact(connection: string): string {
  return connection.replace(/\/\/([^:/@]+):([^@/]+)@/, '//$1:***@');
}
