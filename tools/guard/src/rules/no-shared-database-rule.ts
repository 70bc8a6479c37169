import ts from 'typescript';
import type { RawFinding, SourceLocation } from '../finding.ts';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { RepoModel, ServiceInfo } from '../repo-model.ts';
import type { RuleContext } from '../rule-context.ts';

const rule = 'no-shared-database';

interface DatabaseUse extends SourceLocation {
  service: string;
  /** `host/name` from a connection string, or the name configured for the service. */
  database: string;
}

const connectionString =
  /\b(?:postgres|postgresql|mysql|mariadb|mongodb(?:\+srv)?|sqlserver|mssql):\/\/(?:[^@\s'"`/]*@)?([^/\s'"`?]+)\/([A-Za-z0-9_$-]+)/g;
const createTable =
  /\bCREATE\s+(?:UNLOGGED\s+|TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_"][\w".]*)/gi;
const tableReference =
  /\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE)\s+(?:ONLY\s+)?([A-Za-z_"][\w".]*)/gi;
const sqlStart =
  /^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|TRUNCATE|ALTER|CREATE|DROP|COPY)\b/i;
const databaseKeys = new Set(['database', 'databasename', 'dbname', 'db', 'databaseurl', 'dburl']);
const textFiles = /\.(?:[cm]?[jt]sx?|ya?ml|json|env|sql)$|(?:^|\/)\.env[^/]*$/;

/**
 * Databases are private to a service. Reported: two services configured with (or connecting to)
 * the same database, and a service's SQL naming a table that only another service's migrations
 * create. Tables created by shared packages (platform outbox/inbox) belong to nobody in particular.
 */
export function noSharedDatabaseRule({ model, index, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  const owners = tableOwners(model);

  // 1. Same database for two services: connection strings in their files, `services.<svc>.database` in config files.
  const uses: DatabaseUse[] = [];
  for (const file of model.files) {
    if (
      !textFiles.test(file) ||
      model.isTestFile(file) ||
      matchesAnyGlob(file, config.database.migrations)
    )
      continue;
    const service = model.serviceOf(file);
    const text = service || model.isConfigFile(file) ? model.readText(file) : undefined;
    if (text === undefined) continue;
    if (service) {
      for (const match of text.matchAll(connectionString)) {
        uses.push({
          service: service.name,
          database: `${match[1]}/${match[2]}`,
          ...positionOf(file, text, match.index),
        });
      }
    }
    if (/\.ya?ml$/.test(file)) uses.push(...yamlServiceDatabases(file, text, model.services));
  }
  const byDatabase = new Map<string, DatabaseUse[]>();
  for (const use of uses) {
    const key = use.database.toLowerCase();
    byDatabase.set(key, [...(byDatabase.get(key) ?? []), use]);
  }
  for (const [database, list] of byDatabase) {
    const services = [...new Set(list.map((use) => use.service))].sort();
    if (services.length < 2) continue;
    const [first] = list;
    if (!first) continue;
    findings.push({
      rule,
      file: first.file,
      line: first.line,
      column: first.column,
      message: `services ${services.join(', ')} use the same database ${database}`,
      fix: 'Give each service its own database (or at least its own schema and credentials) and share data through contracts and events.',
      related: list
        .slice(1)
        .map((use) => ({ ...use, message: `${use.service} uses ${database} here` })),
    });
  }

  // 2. SQL naming another service's table.
  for (const file of model.sourceFiles()) {
    const service = model.serviceOf(file);
    if (!service || model.isTestFile(file) || matchesAnyGlob(file, config.database.migrations))
      continue;
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteralLike(node) || ts.isTemplateExpression(node)) {
        const text = ts.isTemplateExpression(node) ? node.getText().slice(1, -1) : node.text;
        if (sqlStart.test(text)) {
          for (const match of text.matchAll(tableReference)) {
            const table = normalizeTable(match[1] ?? '');
            const tableOwners = owners.get(table);
            if (!tableOwners || tableOwners.has(service.name)) continue;
            const other = [...tableOwners].sort().join(', ');
            findings.push({
              rule,
              ...locationAt(file, node),
              message: `${service.name} queries table ${table}, which belongs to ${other} (created by its migrations)`,
              fix: `Ask ${other} for the data through its contract or keep a local copy fed by its events; never read or write its tables.`,
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(index.get(file).sourceFile);
  }
  return findings;
}

/** Table name → services whose migrations create it. */
function tableOwners(model: RepoModel): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  for (const file of model.files) {
    if (!matchesAnyGlob(file, model.config.database.migrations) || model.isTestFile(file)) continue;
    if (!/\.(?:sql|[cm]?[jt]s)$/.test(file)) continue;
    const service = model.serviceOf(file);
    if (!service) continue;
    for (const match of model.readText(file).matchAll(createTable)) {
      const table = normalizeTable(match[1] ?? '');
      owners.set(table, (owners.get(table) ?? new Set()).add(service.name));
    }
  }
  return owners;
}

function normalizeTable(name: string): string {
  const bare = name.replaceAll('"', '').toLowerCase();
  // `public.orders` and `orders` are one table; another schema stays qualified.
  return bare.startsWith('public.') ? bare.slice('public.'.length) : bare;
}

/** `services: { order: { database: orderly_order } }` in a YAML config file (indentation-based). */
function yamlServiceDatabases(file: string, text: string, services: ServiceInfo[]): DatabaseUse[] {
  const uses: DatabaseUse[] = [];
  const stack: { indent: number; key: string }[] = [];
  const names = new Set(services.map((service) => service.name));
  text.split('\n').forEach((line, index) => {
    const match = /^(\s*)([A-Za-z0-9_-]+):\s*(.*?)\s*(?:#.*)?$/.exec(line);
    if (!match) return;
    const indent = match[1]?.length ?? 0;
    const key = match[2] ?? '';
    const value = (match[3] ?? '').replace(/^['"]|['"]$/g, '');
    while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
    const path = stack.map((entry) => entry.key);
    stack.push({ indent, key });
    const service = path.find(
      (segment, position) => path[position - 1] === 'services' && names.has(segment),
    );
    if (!service || value === '' || !databaseKeys.has(key.toLowerCase())) return;
    const fromUrl = [...value.matchAll(connectionString)][0];
    uses.push({
      service,
      database: fromUrl ? `${fromUrl[1]}/${fromUrl[2]}` : value,
      file,
      line: index + 1,
      column: indent + 1,
    });
  });
  return uses;
}

function positionOf(file: string, text: string, offset: number): SourceLocation {
  const before = text.slice(0, offset).split('\n');
  return { file, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

function locationAt(file: string, node: ts.Node): SourceLocation {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file, line: line + 1, column: character + 1 };
}
