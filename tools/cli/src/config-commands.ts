import { existsSync } from 'node:fs';
import {
  ConfigError,
  describeConfig,
  isReloadable,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  reloadablePaths,
  type ConfigDocument,
  type ConfigEntry,
  type PlatformConfig,
  type parseServiceConfig,
} from '@orderly/platform';
import { services } from '@orderly/system';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { checkConfigCommand, printConfigCommand } from './commands.js';

/**
 * `orderly config print` and `orderly config check`: the configuration as data, inspected without
 * starting anything and without touching the network.
 */
type ServiceSchema = Parameters<typeof parseServiceConfig>[2];

/** Every service's schema, by name in alphabetical order (how the commands list them). */
export const serviceSchemas: Readonly<Record<string, ServiceSchema>> = Object.fromEntries(
  [...services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => [s.name, s.configSchema as ServiceSchema]),
);

/** Every problem of `document` for the platform and the given services (key, value and rule each). */
export function configProblems(document: ConfigDocument, names: readonly string[]): string[] {
  const problems: string[] = [];
  const collect = (check: () => void) => {
    try {
      check();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
    }
  };
  collect(() => parseConfigSection(platformConfigSchema, document.document));
  for (const name of names) {
    const schema = serviceSchemas[name];
    if (schema) collect(() => parseConfigSection(schema, document.document, ['services', name]));
  }
  // Rules across sections, once each section is valid on its own.
  if (problems.length === 0) {
    for (const definition of services) {
      const { checkDocument } = definition;
      if (checkDocument && names.includes(definition.name)) collect(() => checkDocument(document));
    }
  }
  const declared = (document.document.services ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(declared)) {
    if (!(name in serviceSchemas))
      problems.push(
        `services.${name}: unknown service (known: ${Object.keys(serviceSchemas).join(', ')})`,
      );
  }
  return problems;
}

function formatEntries(entries: readonly (ConfigEntry & { reload: string })[]): string {
  const rows = entries.map(
    (e) => [e.key, JSON.stringify(e.value) ?? 'undefined', e.source, e.reload, e.origin] as const,
  );
  const width = (column: 0 | 1 | 2 | 3) => Math.max(...rows.map((r) => r[column].length));
  const [k, v, s, r] = [width(0), width(1), width(2), width(3)];
  return rows
    .map(
      (row) =>
        `${row[0].padEnd(k)}  ${row[1].padEnd(v)}  ${row[2].padEnd(s)}  ${row[3].padEnd(r)}  ${row[4]}`,
    )
    .join('\n');
}

/** `orderly config print --service order --config config/prod.yaml` */
export function printConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo,
): number {
  const spec = printConfigCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const service = args.values.service;
  const schema = service ? serviceSchemas[service] : undefined;
  if (!service || !schema)
    return usageFailure(
      spec,
      `--service must be one of ${Object.keys(serviceSchemas).join(', ')}`,
      io,
    );
  const document = loadConfigDocument({ argv: args.configArgv, env });
  const problems = configProblems(document, [service]);
  if (problems.length > 0) {
    io.err(`invalid configuration for ${service}:\n  ${problems.join('\n  ')}\n`);
    return 1;
  }
  const platform: Partial<PlatformConfig> = {
    ...parseConfigSection(platformConfigSchema, document.document),
  };
  delete platform.services;
  const own = parseConfigSection(schema, document.document, ['services', service]);
  const effective = { ...platform, services: { [service]: own } };
  const reloadable = [
    ...reloadablePaths(platformConfigSchema),
    ...reloadablePaths(schema, ['services', service]),
  ];
  const entries = describeConfig(effective, document.layers ?? []).map((entry) => ({
    ...entry,
    reload: isReloadable(entry.key, reloadable) ? 'reloadable' : 'restart',
  }));
  if (args.values.json) {
    io.out(`${JSON.stringify({ service, files: document.files, entries }, null, 2)}\n`);
    return 0;
  }
  io.out(
    `# effective configuration of ${service}\n# files: ${document.files.join(' < ')}\n` +
      '# key  value  source (default < file < env < flag)  reloadable|restart  origin\n' +
      `${formatEntries(entries)}\n`,
  );
  return 0;
}

/** `orderly config check deploy/prod/config.yaml`: the file over the defaults, for every service. */
export function checkConfig(argv: readonly string[], io: CommandIo): number {
  const args = parseCommand(checkConfigCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const files = args.positionals;
  let failed = false;
  for (const file of files) {
    if (!existsSync(file)) {
      io.err(`${file}: no such file\n`);
      failed = true;
      continue;
    }
    let problems: string[];
    try {
      // The file alone over the defaults: the checking machine's environment must not hide a problem.
      problems = configProblems(
        loadConfigDocument({ argv: ['--config', file], env: {} }),
        Object.keys(serviceSchemas),
      );
    } catch (error) {
      problems = [error instanceof Error ? error.message : String(error)];
    }
    if (problems.length > 0) {
      failed = true;
      io.err(`${file}: invalid\n  ${problems.join('\n  ')}\n`);
    } else {
      io.out(`${file}: ok (platform and ${Object.keys(serviceSchemas).join(', ')})\n`);
    }
  }
  return failed ? 1 : 0;
}
