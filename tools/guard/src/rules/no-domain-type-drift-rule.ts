import ts from 'typescript';
import type { RawFinding, SourceLocation } from '../finding.ts';
import { matchesAnyGlob, pathUnder } from '../glob-matcher.ts';
import type { RuleContext } from '../rule-context.ts';
import { locationOf, nameWords, staticName } from '../source-index.ts';

const rule = 'no-domain-type-drift';

interface TypeCopy extends SourceLocation {
  service: string;
  name: string;
  /** Field name → type text (whitespace collapsed; `?` kept). */
  fields: Map<string, string>;
}

/**
 * The same domain type (same name, in two or more services) with different fields: copies that
 * drifted apart. A warning by default: a deliberate per-service view is fine, but it should
 * then have its own name. Domain types are exported interfaces, object type aliases and classes
 * in a service's domain layer, or anywhere in a service when named after a business noun;
 * wiring types (`...Deps`, `...Config`, `...Options`, ...) are skipped.
 */
export function noDomainTypeDriftRule({ model, index, config }: RuleContext): RawFinding[] {
  const copies = new Map<string, TypeCopy[]>();
  const businessWords = new Set(config.businessTypeNames.flatMap((name) => nameWords(name)));
  for (const file of model.sourceFiles()) {
    const service = model.serviceOf(file);
    if (!service || model.isTestFile(file) || model.isContract(file)) continue;
    const inDomain = matchesAnyGlob(pathUnder(file, service.root), config.layering.domain);
    for (const statement of index.get(file).sourceFile.statements) {
      const copy = typeCopy(statement);
      if (!copy) continue;
      const [name, fields, node] = copy;
      if (config.domainTypes.ignoreSuffixes.some((suffix) => name.endsWith(suffix))) continue;
      if (!inDomain && !nameWords(name).some((word) => businessWords.has(word))) continue;
      if (fields.size < 2) continue;
      const list = copies.get(name) ?? [];
      list.push({ service: service.name, name, fields, ...locationOf(file, node) });
      copies.set(name, list);
    }
  }
  const findings: RawFinding[] = [];
  for (const [name, list] of copies) {
    const services = new Set(list.map((copy) => copy.service));
    if (services.size < 2) continue;
    const differences = describeDifferences(list);
    if (differences.length === 0) continue;
    const [first, ...others] = list;
    if (!first) continue;
    findings.push({
      rule,
      file: first.file,
      line: first.line,
      column: first.column,
      message: `${name} is defined in ${[...services].sort().join(', ')} with different fields: ${differences.join('; ')}`,
      fix: `Let one service own ${name} and publish it in its contract (the others use the generated type), or give each diverging view its own name.`,
      related: others.map((copy) => ({
        file: copy.file,
        line: copy.line,
        column: copy.column,
        message: `${name} in ${copy.service}`,
      })),
    });
  }
  return findings;
}

function typeCopy(statement: ts.Statement): [string, Map<string, string>, ts.Node] | undefined {
  const exported =
    ts.canHaveModifiers(statement) &&
    (ts.getModifiers(statement) ?? []).some(
      (modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword,
    );
  if (!exported) return undefined;
  let members: ts.NodeArray<ts.TypeElement | ts.ClassElement> | undefined;
  let nameNode: ts.Identifier | undefined;
  if (ts.isInterfaceDeclaration(statement)) {
    members = statement.members;
    nameNode = statement.name;
  } else if (ts.isTypeAliasDeclaration(statement) && ts.isTypeLiteralNode(statement.type)) {
    members = statement.type.members;
    nameNode = statement.name;
  } else if (ts.isClassDeclaration(statement) && statement.name) {
    members = statement.members;
    nameNode = statement.name;
  }
  if (!members || !nameNode) return undefined;
  const fields = new Map<string, string>();
  for (const member of members) {
    if (!ts.isPropertySignature(member) && !ts.isPropertyDeclaration(member)) continue;
    const name = staticName(member.name);
    if (!name || name.startsWith('#')) continue;
    const flags = ts.getCombinedModifierFlags(member);
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected | ts.ModifierFlags.Static))
      continue;
    const type = member.type ? member.type.getText().replace(/\s+/g, ' ') : 'unknown';
    fields.set(name, `${member.questionToken ? '?' : ''}${type}`);
  }
  return [nameNode.text, fields, nameNode];
}

/** `status only in order; total: number in order, string in billing`. */
function describeDifferences(list: TypeCopy[]): string[] {
  const differences: string[] = [];
  const allFields = new Set(list.flatMap((copy) => [...copy.fields.keys()]));
  for (const field of [...allFields].sort()) {
    const having = list.filter((copy) => copy.fields.has(field));
    if (having.length < list.length) {
      differences.push(`${field} only in ${unique(having.map((copy) => copy.service)).join(', ')}`);
      continue;
    }
    const types = unique(having.map((copy) => copy.fields.get(field) ?? ''));
    if (types.length > 1) {
      differences.push(
        `${field}: ${types
          .map(
            (type) =>
              `${type} in ${unique(having.filter((copy) => copy.fields.get(field) === type).map((copy) => copy.service)).join(', ')}`,
          )
          .join(', ')}`,
      );
    }
  }
  return differences;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
