import ts from 'typescript';
import type { DependencyException } from '../config-loader.ts';
import type { RawFinding, SourceLocation } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import { isUnderAnyDir, matchesGlob } from '../glob-matcher.ts';

const rule = 'no-dependency-hijack';
const dependencyFields = [
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
];
const nonRegistrySource =
  /^(?:file:|link:|portal:|git\+|git:|git@|github:|gitlab:|bitbucket:|https?:)/;
const githubShorthand = /^[\w.-]+\/[\w.-]+(?:#.*)?$/;
const lockfiles = ['package-lock.json', 'npm-shrinkwrap.json'];

/**
 * Manifests may not redirect resolution (overrides/resolutions), install from outside the
 * registry, and the lockfile may not hold two versions of a critical package, unless the
 * config lists an exception with a reason.
 */
export function noDependencyHijackRule({ model, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  const exceptions = config.dependencies.exceptions;
  const scopeDirs = [...config.serviceRoots, ...config.allowedSharedPackages, ...config.include];
  const manifests = new Set(['package.json']);
  for (const pkg of model.packages.values()) manifests.add(`${pkg.dir}/package.json`);
  for (const file of model.files) {
    if (file.endsWith('/package.json') && isUnderAnyDir(file, scopeDirs)) manifests.add(file);
  }
  for (const manifest of [...manifests].sort()) {
    if (model.fileSet.has(manifest))
      findings.push(...checkManifest(manifest, model.readText(manifest), exceptions));
  }
  for (const lockfile of lockfiles) {
    if (model.fileSet.has(lockfile)) {
      findings.push(
        ...checkLockfile(
          lockfile,
          model.readText(lockfile),
          config.dependencies.criticalPackages,
          exceptions,
        ),
      );
    }
  }
  return findings;
}

function isExcepted(
  exceptions: DependencyException[],
  name: string,
  kind: DependencyException['kind'],
): boolean {
  return exceptions.some(
    (exception) =>
      exception.package === name && (exception.kind === undefined || exception.kind === kind),
  );
}

function checkManifest(
  file: string,
  text: string,
  exceptions: DependencyException[],
): RawFinding[] {
  const findings: RawFinding[] = [];
  const root = jsonRoot(file, text);
  if (!root) return findings;
  const overrideBlocks: [string, ts.ObjectLiteralExpression | undefined][] = [
    ['overrides', objectProperty(root, 'overrides')],
    ['resolutions', objectProperty(root, 'resolutions')],
    ['pnpm.overrides', objectProperty(objectProperty(root, 'pnpm'), 'overrides')],
  ];
  for (const [field, block] of overrideBlocks) {
    for (const entry of block ? properties(block) : []) {
      const name = packageOfSelector(entry.name);
      if (isExcepted(exceptions, name, 'override')) continue;
      findings.push({
        rule,
        ...position(file, entry.node.name),
        message: `${field} forces ${entry.name} to ${entry.node.initializer.getText()}: every package now runs a version its authors did not test`,
        fix: `Remove the ${field} entry and upgrade the dependents instead, or add {"package": "${name}", "kind": "override", "reason": "..."} to dependencies.exceptions.`,
      });
    }
  }
  for (const field of dependencyFields) {
    const block = objectProperty(root, field);
    for (const entry of block ? properties(block) : []) {
      if (!ts.isStringLiteral(entry.node.initializer)) continue;
      const source = entry.node.initializer.text;
      if (source.startsWith('workspace:') || source.startsWith('npm:')) continue;
      if (!nonRegistrySource.test(source) && !githubShorthand.test(source)) continue;
      if (isExcepted(exceptions, entry.name, 'source')) continue;
      findings.push({
        rule,
        ...position(file, entry.node.initializer),
        message: `${field}.${entry.name} installs from '${source}' instead of the registry: the lockfile cannot pin or audit it`,
        fix: `Publish the package (or make it an npm workspace referenced by version) and depend on a registry version, or add an exception with a reason.`,
      });
    }
  }
  return findings;
}

interface LockEntry {
  path: string;
  version: string;
  node: ts.Node;
}

function checkLockfile(
  file: string,
  text: string,
  critical: string[],
  exceptions: DependencyException[],
): RawFinding[] {
  const root = jsonRoot(file, text);
  const packages = root ? objectProperty(root, 'packages') : undefined;
  if (!packages || critical.length === 0) return [];
  const byName = new Map<string, LockEntry[]>();
  for (const entry of properties(packages)) {
    const marker = entry.name.lastIndexOf('node_modules/');
    if (marker === -1 || !ts.isObjectLiteralExpression(entry.node.initializer)) continue;
    const name = entry.name.slice(marker + 'node_modules/'.length);
    if (!critical.includes(name)) continue;
    const version = objectString(entry.node.initializer, 'version');
    if (!version) continue;
    const list = byName.get(name) ?? [];
    list.push({ path: entry.name, version, node: entry.node.name });
    byName.set(name, list);
  }
  const findings: RawFinding[] = [];
  for (const [name, allEntries] of byName) {
    const accepted = exceptions.filter(
      (exception) =>
        exception.package === name &&
        (exception.kind === undefined || exception.kind === 'duplicate'),
    );
    if (accepted.some((exception) => exception.path === undefined)) continue;
    // An exception with a path accepts that one extra copy; any other copy is still reported.
    const entries = allEntries.filter(
      (entry) =>
        !accepted.some(
          (exception) => exception.path !== undefined && matchesGlob(entry.path, exception.path),
        ),
    );
    const versions = new Set(entries.map((entry) => entry.version));
    if (versions.size < 2) continue;
    const hoisted = entries.find((entry) => entry.path === `node_modules/${name}`) ?? entries[0];
    const odd = entries.find((entry) => entry.version !== hoisted?.version);
    if (!odd) continue;
    findings.push({
      rule,
      ...position(file, odd.node),
      message: `${file} holds ${versions.size} versions of critical package ${name}: ${entries.map((entry) => `${entry.version} (${entry.path})`).join(', ')}`,
      fix: `Align every dependent on one ${name} version (update the ranges and run npm install), or add {"package": "${name}", "kind": "duplicate", "reason": "..."} to dependencies.exceptions.`,
    });
  }
  return findings;
}

function packageOfSelector(selector: string): string {
  const at = selector.indexOf('@', 1);
  return at === -1 ? selector : selector.slice(0, at);
}

function jsonRoot(file: string, text: string): ts.ObjectLiteralExpression | undefined {
  // createSourceFile (not parseJsonText) so parents are set and nodes know their positions.
  const json = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JSON);
  const statement = (json as ts.JsonSourceFile).statements[0];
  return statement && ts.isObjectLiteralExpression(statement.expression)
    ? statement.expression
    : undefined;
}

function properties(
  object: ts.ObjectLiteralExpression,
): { name: string; node: ts.PropertyAssignment }[] {
  return object.properties.flatMap((property) =>
    ts.isPropertyAssignment(property) && ts.isStringLiteral(property.name)
      ? [{ name: property.name.text, node: property }]
      : [],
  );
}

function objectProperty(
  object: ts.ObjectLiteralExpression | undefined,
  name: string,
): ts.ObjectLiteralExpression | undefined {
  const found = object && properties(object).find((property) => property.name === name);
  return found && ts.isObjectLiteralExpression(found.node.initializer)
    ? found.node.initializer
    : undefined;
}

function objectString(object: ts.ObjectLiteralExpression, name: string): string | undefined {
  const found = properties(object).find((property) => property.name === name);
  return found && ts.isStringLiteral(found.node.initializer)
    ? found.node.initializer.text
    : undefined;
}

function position(file: string, node: ts.Node): SourceLocation {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file, line: line + 1, column: character + 1 };
}
