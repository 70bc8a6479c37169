import ts from 'typescript';
import type { RawFinding, SourceLocation } from '../finding.ts';
import type { RuleContext } from '../rule-context.ts';
import { isTypeScript } from '../repo-model.ts';
import { locationOf } from '../source-index.ts';
import { ruleCatalog } from '../rule-catalog.ts';

const rule = 'no-shared-domain';

interface SharedPackageUse {
  importers: Set<string>;
  firstImport: SourceLocation;
}

/**
 * Every import (and re-export) is resolved to a repo file; its location decides:
 * another service's generated contract is fine, its source is not; outside any service,
 * only allowed technical packages are fine. The shared package itself is reported once.
 */
export function noSharedDomainRule({ model, index, resolver, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  const sharedUses = new Map<string, SharedPackageUse>();

  for (const file of model.sourceFiles()) {
    const owner = model.serviceOf(file);
    if (model.isCompositionRoot(file)) continue;
    for (const ref of index.get(file).imports) {
      const resolution = resolver.resolve(file, ref.specifier);
      if (resolution.kind !== 'file') continue;
      const target = resolution.path;
      const targetService = model.serviceOf(target);
      const via = describeVia(resolution.via, ref.kind);
      const at = locationOf(file, ref.node);

      if (targetService && targetService !== owner) {
        if (model.isContract(target)) continue;
        const importer = owner
          ? `service ${owner.name}`
          : `shared package ${model.packageOf(file)?.name ?? file}`;
        findings.push({
          rule,
          ...at,
          message: `${importer} imports ${targetService.name}'s source ${target} ${via} ('${ref.specifier}'); only its generated contract may be imported`,
          fix: owner
            ? `Depend on ${targetService.name}'s contract (${contractHint(targetService.packageName, targetService.name)}) or react to its events; do not reach into its source.`
            : `Shared code must not depend on a service; move the dependency into the service or a composition root.`,
        });
        continue;
      }
      if (!owner || targetService) continue;
      if (model.isAllowedShared(target) || model.isContract(target)) continue;
      const pkg = model.packageOf(target);
      const sharedName = pkg?.name ?? target.split('/').slice(0, 2).join('/');
      const manifest = pkg ? `${pkg.dir}/package.json` : target;
      findings.push({
        rule,
        ...at,
        message: `service ${owner.name} imports shared package ${sharedName} (${target}) ${via}; it is not an allowed technical package, so it shares a domain between services`,
        fix: `Move these types into ${owner.name} (or into the owning service's proto contract) and delete the shared package, or add it to "allowedSharedPackages" if it is purely technical.`,
        related: [{ file: manifest, line: 1, column: 1, message: `shared package ${sharedName}` }],
      });
      const use = sharedUses.get(manifest) ?? { importers: new Set<string>(), firstImport: at };
      use.importers.add(owner.name);
      sharedUses.set(manifest, use);
    }
  }

  for (const [manifest, use] of sharedUses) {
    const pkg = model.packageOf(manifest);
    const businessTypes = pkg ? exportedBusinessTypes({ model, index, config }, pkg.dir) : [];
    const where =
      pkg && model.fileSet.has(manifest)
        ? nameLocation(model.readText(manifest), manifest)
        : { file: manifest, line: 1, column: 1 };
    const holding =
      businessTypes.length > 0
        ? ` holds business types (${businessTypes.map((type) => type.name).join(', ')}) and`
        : '';
    findings.push({
      rule,
      ...where,
      message: `shared package ${pkg?.name ?? manifest}${holding} is imported by ${[...use.importers].sort().join(', ')}: a shared domain couples their releases and data models`,
      fix: ruleCatalog[rule].help,
      related: [{ ...use.firstImport, message: 'imported here' }],
    });
  }

  findings.push(...businessTypesInAllowedPackages(model, index, config));
  return findings;
}

function describeVia(via: 'relative' | 'package' | 'alias', kind: string): string {
  const how =
    via === 'relative'
      ? 'via a relative path'
      : via === 'alias'
        ? 'via a path alias'
        : 'via its package name';
  return kind === 'export' ? `${how} (re-exported)` : how;
}

function contractHint(packageName: string | undefined, service: string): string {
  return `${packageName ?? `@<scope>/${service}`}/contract/*`;
}

interface NamedDeclaration extends SourceLocation {
  name: string;
}

/** Exported interfaces, types, classes and enums named after a business noun (`Order`, `OrderLine`). */
function exportedBusinessTypes(
  { model, index, config }: Pick<RuleContext, 'model' | 'index' | 'config'>,
  dir: string,
): NamedDeclaration[] {
  const nouns = config.businessTypeNames;
  if (nouns.length === 0) return [];
  const pattern = new RegExp(`^(?:${nouns.join('|')})(?:s|[A-Z]\\w*)?$`);
  const found: NamedDeclaration[] = [];
  for (const file of model.files) {
    if (!file.startsWith(`${dir}/`) || !isTypeScript(file) || model.isTestFile(file)) continue;
    for (const statement of index.get(file).sourceFile.statements) {
      if (
        (ts.isInterfaceDeclaration(statement) ||
          ts.isTypeAliasDeclaration(statement) ||
          ts.isClassDeclaration(statement) ||
          ts.isEnumDeclaration(statement)) &&
        statement.name &&
        statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) &&
        pattern.test(statement.name.text)
      ) {
        found.push({ name: statement.name.text, ...locationOf(file, statement.name) });
      }
    }
  }
  return found;
}

/** An allowed technical package that grows business types is becoming the shared domain. */
function businessTypesInAllowedPackages(
  model: RuleContext['model'],
  index: RuleContext['index'],
  config: RuleContext['config'],
): RawFinding[] {
  const dirs = new Set<string>();
  for (const pkg of model.packages.values()) {
    if (model.isAllowedShared(pkg.dir)) dirs.add(pkg.dir);
  }
  return [...dirs].flatMap((dir) =>
    exportedBusinessTypes({ model, index, config }, dir).map((declaration): RawFinding => ({
      rule,
      file: declaration.file,
      line: declaration.line,
      column: declaration.column,
      message: `allowed shared package ${dir} exports business type ${declaration.name}; technical packages must stay free of business words`,
      fix: `Move ${declaration.name} into the service that owns it and expose it through that service's contract.`,
    })),
  );
}

/** Points at the `"name"` key of a package.json. */
function nameLocation(text: string, file: string): SourceLocation {
  const offset = text.search(/"name"\s*:/);
  if (offset === -1) return { file, line: 1, column: 1 };
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { file, line, column: offset - before.lastIndexOf('\n') };
}
