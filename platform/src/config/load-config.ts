import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { embeddedFile } from '../packaging/embedded-files.js';

/**
 * Configuration is data: built-in defaults (config/default.yaml) < the `--config` file <
 * `ORDERLY_*` environment variables < command-line flags (`--set services.order.sagaTimeoutMs=5000`
 * or `--services.order.sagaTimeoutMs=5000`). The merged document is validated by zod schemas; a bad
 * value names the key, the value and the rule. Each layer is kept, so tools can tell where a value
 * came from (`orderly config print`).
 */
export const defaultConfigFile = fileURLToPath(
  new URL('../../../config/default.yaml', import.meta.url),
);

const envPrefix = 'ORDERLY_';
/** Variables with the prefix that select files rather than set keys. */
const reservedEnv = new Set(['ORDERLY_CONFIG']);

export interface ConfigSources {
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces config/default.yaml (tests). */
  readonly defaultsFile?: string;
  /** Files layered over the defaults and under the `--config` file (a mode's profile, e.g. embedded.yaml). */
  readonly profileFiles?: readonly string[];
  /** Extra layer above the file and below the environment (tests, embedded launcher). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Where a value came from, lowest precedence first. */
export type ConfigLayerSource = 'default' | 'file' | 'override' | 'env' | 'flag';

export interface ConfigLayer {
  readonly source: ConfigLayerSource;
  /** The file, or what set the layer (`ORDERLY_* environment`, `command line`). */
  readonly origin: string;
  readonly document: Record<string, unknown>;
}

export interface ConfigDocument {
  readonly document: Record<string, unknown>;
  readonly files: readonly string[];
  /** The layers that were merged, lowest precedence first (absent for hand-made documents). */
  readonly layers?: readonly ConfigLayer[];
}

export class ConfigError extends AppError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super('CONFIG_INVALID', `${message}:\n  ${problems.join('\n  ')}`, { kind: 'invalid' });
  }
}

export function configFileFromArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--config') return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return env.ORDERLY_CONFIG;
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    // A bundle carries config/default.yaml inside itself (packaging/embedded-files).
    text = embeddedFile(file) ?? readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read configuration file ${file}`, [String(cause)]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    throw new ConfigError(`configuration file ${file} is not valid YAML`, [String(cause)]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed))
    throw new ConfigError(`configuration file ${file}`, ['the top level must be a mapping']);
  return parsed;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays included) is replaced by the upper layer. */
export function deepMerge(
  lower: Record<string, unknown>,
  upper: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper)) {
    const existing = result[key];
    result[key] =
      isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return result;
}

const snakeToCamel = (segment: string): string =>
  segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** `ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS=5000` sets `services.order.sagaTimeoutMs`. */
export function environmentLayer(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  let layer: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || reservedEnv.has(name) || value === undefined) continue;
    const path = name.slice(envPrefix.length).split('__').map(snakeToCamel);
    let nested: unknown = parseEnvValue(value);
    for (const key of [...path].reverse()) nested = { [key]: nested };
    layer = deepMerge(layer, nested as Record<string, unknown>);
  }
  return layer;
}

/** Lists arrive as JSON (`[100,500]`); everything else stays a string for the schema to coerce. */
function parseEnvValue(value: string): unknown {
  if (value.startsWith('[')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/** Arguments that are not configuration keys even in `--name=value` form. */
const reservedFlags = new Set(['config', 'set']);
const keyPattern = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/**
 * The command-line layer: `--set a.b.c=value` (repeatable) and `--a.b.c=value`. Values are parsed
 * like environment values (strings for the schema to coerce; `[…]` as JSON lists). Other arguments
 * (`--config file`, `--json`, positional words) are left alone.
 */
export function commandLineLayer(argv: readonly string[]): Record<string, unknown> {
  let layer: Record<string, unknown> = {};
  const assign = (assignment: string, arg: string) => {
    const equals = assignment.indexOf('=');
    const key = equals > 0 ? assignment.slice(0, equals) : '';
    if (!keyPattern.test(key)) {
      throw new ConfigError('invalid command-line setting', [
        `${arg}: expected <dotted.key>=<value>`,
      ]);
    }
    let nested: unknown = parseEnvValue(assignment.slice(equals + 1));
    for (const segment of key.split('.').reverse()) nested = { [segment]: nested };
    layer = deepMerge(layer, nested as Record<string, unknown>);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--set') {
      assign(argv[i + 1] ?? '', `--set ${argv[i + 1] ?? ''}`);
      i++;
    } else if (arg.startsWith('--set=')) {
      assign(arg.slice('--set='.length), arg);
    } else if (arg.startsWith('--') && arg.includes('=')) {
      const name = arg.slice(2, arg.indexOf('='));
      if (!reservedFlags.has(name) && keyPattern.test(name)) assign(arg.slice(2), arg);
    }
  }
  return layer;
}

/** Reads every layer, lowest precedence first. */
export function loadConfigLayers(sources: ConfigSources = {}): ConfigLayer[] {
  const argv = sources.argv ?? process.argv.slice(2);
  const env = sources.env ?? process.env;
  const defaultsFile = sources.defaultsFile ?? defaultConfigFile;
  const layers: ConfigLayer[] = [
    { source: 'default', origin: defaultsFile, document: readYamlFile(defaultsFile) },
  ];
  for (const profile of sources.profileFiles ?? []) {
    layers.push({ source: 'file', origin: profile, document: readYamlFile(profile) });
  }
  const file = configFileFromArgs(argv, env);
  if (file) layers.push({ source: 'file', origin: file, document: readYamlFile(file) });
  if (sources.overrides)
    layers.push({ source: 'override', origin: 'overrides', document: { ...sources.overrides } });
  layers.push({
    source: 'env',
    origin: `${envPrefix}* environment`,
    document: environmentLayer(env),
  });
  layers.push({ source: 'flag', origin: 'command line', document: commandLineLayer(argv) });
  return layers;
}

export function loadConfigDocument(sources: ConfigSources = {}): ConfigDocument {
  const layers = loadConfigLayers(sources);
  const document = layers.reduce<Record<string, unknown>>(
    (merged, layer) => deepMerge(merged, layer.document),
    {},
  );
  const files = layers
    .filter((l) => l.source === 'default' || l.source === 'file')
    .map((l) => l.origin);
  return { document, files, layers };
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = document;
  for (const key of path) {
    if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Keys whose values never reach a message (the message goes to stderr and logs). */
const secretKey = /(password|secret|token|encryptionkey|credential)$/i;

/**
 * The value as an error message may show it: a secret is redacted, a section is named by its keys
 * (a problem at the root would otherwise print the whole configuration, secrets included).
 */
function describeValue(key: string, value: unknown): string {
  if (value === undefined) return 'missing';
  if (secretKey.test(key)) return '(redacted)';
  if (isPlainObject(value)) return `{ ${Object.keys(value).join(', ')} }`;
  return JSON.stringify(value);
}

/** Validates one part of the document; every problem names the key, the value and the rule. */
export function parseConfigSection<Schema extends z.ZodType>(
  schema: Schema,
  document: unknown,
  prefix: readonly string[] = [],
): z.output<Schema> {
  const section = valueAt(document, prefix);
  const result = schema.safeParse(section ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    const key = path.join('.') || '(root)';
    const value = valueAt(document, path);
    return `${key}: value ${describeValue(key, value)} is invalid: ${issue.message}`;
  });
  throw new ConfigError('invalid configuration', problems);
}

/** Schema helpers: values from the environment arrive as strings. */
export const configValue = {
  port: () => z.coerce.number().int().min(0).max(65535),
  durationMs: () => z.coerce.number().int().min(0),
  positiveInt: () => z.coerce.number().int().min(1),
  nonNegativeInt: () => z.coerce.number().int().min(0),
  boolean: () =>
    z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()),
  durationsMs: () => z.array(z.coerce.number().int().min(0)).min(1),
  url: () => z.string().url(),
};
