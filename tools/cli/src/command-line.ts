import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildInfo, platformConfigSchema } from '@orderly/platform';

/**
 * The command lines of Orderly's tools (`orderly`, the chaos drill, the launchers, the build): each
 * command declares its options once, and this parses them with `node:util` parseArgs in strict
 * mode. An unknown option, a missing value or a stray argument is an error (exit 2, one line naming
 * it plus the usage line, on stderr); `--help`/`-h` prints the command's help and `--version` the
 * version, both exit 0 and do nothing else.
 */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Repeatable: the values arrive as an array. */
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's name in the help (`--config <file>`). */
  readonly value?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<Options extends OptionSpecs = OptionSpecs> {
  /** As typed, e.g. `orderly dead-letters redrive` or `npm run chaos`. */
  readonly name: string;
  /** One sentence: what the command does. */
  readonly summary: string;
  /** The usage line after the name, e.g. `(--id <id> ... | --all) [--json]`. */
  readonly synopsis: string;
  readonly options: Options;
  /** Arguments that are not options (default: none). `max` absent: any number from `min`. */
  readonly positionals?: { readonly name: string; readonly min: number; readonly max?: number };
  /**
   * Takes the configuration's command-line layers: `--config <file>`, `--set <key>=<value>` and
   * `--<key>=<value>` for a key of the platform configuration (see loadConfigDocument).
   */
  readonly configLayers?: boolean;
  readonly examples: readonly string[];
  /** Paragraphs after the options (exit codes, what is refused and why). */
  readonly notes?: string;
  /** The `--version` line. */
  readonly version: () => string;
}

type OptionValue<Option extends OptionSpec> = Option['type'] extends 'string'
  ? Option['multiple'] extends true
    ? string[]
    : string
  : Option['multiple'] extends true
    ? boolean[]
    : boolean;

export type OptionValues<Options extends OptionSpecs> = {
  -readonly [Name in keyof Options]?: OptionValue<Options[Name]>;
};

export interface ParsedCommand<Options extends OptionSpecs> {
  readonly values: OptionValues<Options>;
  readonly positionals: readonly string[];
  /**
   * The configuration's arguments (`--config`, `--set`, `--<key>=<value>`) and nothing else: what
   * loadConfigDocument({ argv }) and a service's own command line take.
   */
  readonly configArgv: readonly string[];
}

/** Declares a command; `const` keeps the option types literal, so the parsed values are typed. */
export function defineCommand<const Options extends OptionSpecs>(
  spec: CommandSpec<Options>,
): CommandSpec<Options> {
  return spec;
}

/** `<package> <version> (Orderly <version>, commit <sha>, …)`, from the package.json given. */
export function toolVersion(packageJson: URL): () => string {
  return () => {
    let tool = '';
    try {
      const { name, version } = JSON.parse(readFileSync(packageJson, 'utf8')) as {
        name: string;
        version: string;
      };
      tool = `${name} ${version} `;
    } catch {
      // bundled (no package.json beside it): the build's version below says what this is
    }
    const build = buildInfo();
    const built = build.source === 'build' ? `built ${build.builtAt}` : 'run from source';
    return `${tool}(Orderly ${build.version}, commit ${build.commit}, ${built})\n`;
  };
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help' };
const versionOption: OptionSpec = { type: 'boolean', description: 'print the version' };
const configOptions: OptionSpecs = {
  config: {
    type: 'string',
    value: 'file',
    description: 'configuration file over config/default.yaml (default: $ORDERLY_CONFIG)',
  },
  set: {
    type: 'string',
    multiple: true,
    value: 'key=value',
    description: 'a configuration setting over the files and ORDERLY_* variables; repeatable',
  },
};

/** Keys a `--<key>=<value>` setting may start with: the platform configuration's sections. */
const configSections = new Set(Object.keys(platformConfigSchema.shape));
const settingPattern = /^--([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)=/;

export function usageLine(spec: CommandSpec): string {
  const config = spec.configLayers ? ' [--config <file>] [--set <key=value> ...]' : '';
  return `${spec.name} ${spec.synopsis}${config}`.replace(/\s+/g, ' ').trim();
}

export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, option]) => [
    flag(name, option),
    option.description,
  ]);
  if (spec.configLayers) {
    for (const [name, option] of Object.entries(configOptions))
      rows.push([flag(name, option), option.description]);
    rows.push(['--<key>=<value>', 'the same as --set <key>=<value>, e.g. --logLevel=debug']);
  }
  rows.push([flag('help', helpOption), helpOption.description]);
  rows.push([flag('version', versionOption), versionOption.description]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `${spec.name}: ${spec.summary}`,
    '',
    `usage: ${usageLine(spec)}`,
    '',
    'options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    ...(spec.notes ? ['', spec.notes] : []),
    '',
    spec.examples.length === 1 ? 'example:' : 'examples:',
    ...spec.examples.map((example) => `  ${example}`),
    '',
  ].join('\n');
}

function flag(name: string, option: OptionSpec): string {
  const long = `--${name}${option.type === 'string' ? ` <${option.value ?? 'value'}>` : ''}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

/** Prints `<name>: <problem>` and the usage line on stderr; returns the usage exit code, 2. */
export function usageFailure(spec: CommandSpec, problem: string, io: CommandIo): number {
  io.err(`${spec.name}: ${problem}\nusage: ${usageLine(spec)}\n`);
  return 2;
}

/** The arguments before `--` (after it, everything is a positional argument). */
function optionArea(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

/**
 * Parses `argv` for `spec`. Help, version and usage errors are handled here (printed, with their
 * exit code returned as `{ exitCode }`); anything else is the command's to run.
 */
export function parseCommand<Options extends OptionSpecs>(
  spec: CommandSpec<Options>,
  argv: readonly string[],
  io: CommandIo,
): ParsedCommand<Options> | { readonly exitCode: number } {
  const options = optionArea(argv);
  // Before parsing, so `--help` shows the help even next to a mistake, and never runs anything.
  if (options.includes('--help') || options.includes('-h')) {
    io.out(helpText(spec));
    return { exitCode: 0 };
  }
  if (options.includes('--version')) {
    io.out(spec.version());
    return { exitCode: 0 };
  }
  const declared: OptionSpecs = { ...spec.options, ...(spec.configLayers ? configOptions : {}) };
  const settings: string[] = [];
  const rest: string[] = [];
  argv.forEach((arg, index) => {
    const setting = settingPattern.exec(arg);
    const isSetting =
      spec.configLayers === true &&
      index < options.length &&
      setting !== null &&
      !(setting[1]! in declared && setting[2] === '') &&
      configSections.has(setting[1]!);
    (isSetting ? settings : rest).push(arg);
  });
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(declared).map(([name, option]) => [
          name,
          {
            type: option.type,
            ...(option.multiple ? { multiple: true } : {}),
            ...(option.short ? { short: option.short } : {}),
          },
        ]),
      ),
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    });
  } catch (error) {
    return { exitCode: usageFailure(spec, describeParseError(error, spec), io) };
  }
  const { positionals } = parsed;
  const expected = spec.positionals;
  if (expected && positionals.length < expected.min)
    return { exitCode: usageFailure(spec, `missing ${expected.name}`, io) };
  if (expected?.max !== undefined && positionals.length > expected.max)
    return {
      exitCode: usageFailure(spec, `unexpected argument '${positionals[expected.max]}'`, io),
    };
  const config = parsed.values.config;
  const set = (parsed.values.set ?? []) as string[];
  const configArgv = spec.configLayers
    ? [
        ...(typeof config === 'string' ? ['--config', config] : []),
        ...set.flatMap((setting) => ['--set', setting]),
        ...settings,
      ]
    : [];
  return { values: parsed.values as OptionValues<Options>, positionals, configArgv };
}

/** parseArgs' error as one line naming the argument; its own wording varies by Node version. */
function describeParseError(error: unknown, spec: CommandSpec): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const quoted = /'(-{1,2}[^' =]+)/.exec(text)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const name = quoted ?? text;
      const section = name.replace(/^--/, '').split('.')[0] ?? '';
      const hint =
        spec.configLayers && configSections.has(section)
          ? ` (a configuration setting is written ${name}=<value>)`
          : '';
      return `unknown option '${name}'${hint}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (quoted === undefined) return text;
      return text.includes('does not take an argument')
        ? `option '${quoted}' takes no value`
        : `option '${quoted}' needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${/'([^']*)'/.exec(text)?.[1] ?? text}'`;
    default:
      return text;
  }
}

/** A command as a program runs it: its declaration and what runs it on its arguments. */
export interface CommandEntry {
  readonly spec: CommandSpec;
  run(argv: readonly string[], io: CommandIo): number | Promise<number>;
}

/** The entry of a command whose run needs only its parsed arguments. */
export function commandEntry<Options extends OptionSpecs>(
  spec: CommandSpec<Options>,
  run: (args: ParsedCommand<Options>, io: CommandIo) => number | Promise<number>,
): CommandEntry {
  return {
    spec,
    run: (argv, io) => {
      const args = parseCommand(spec, argv, io);
      return 'exitCode' in args ? args.exitCode : run(args, io);
    },
  };
}

export type CommandGroup = Readonly<Record<string, CommandEntry>>;

/** A tool with several commands, some in groups (`orderly dead-letters redrive`). */
export interface Program {
  readonly name: string;
  readonly summary: string;
  readonly version: () => string;
  readonly commands: Readonly<Record<string, CommandEntry | CommandGroup>>;
}

const isEntry = (value: CommandEntry | CommandGroup): value is CommandEntry =>
  'spec' in value && 'run' in value;

/** Every command of the program, groups flattened. */
export function programCommands(program: Program): CommandEntry[] {
  return Object.values(program.commands).flatMap((entry) =>
    isEntry(entry) ? [entry] : Object.values(entry),
  );
}

function listing(title: string, entries: readonly CommandEntry[]): string {
  return [
    title,
    '',
    'usage:',
    ...entries.map((entry) => `  ${usageLine(entry.spec)}`),
    '',
    'Every command takes --help (its options and an example) and --version.',
    '',
  ].join('\n');
}

/** Finds the command `argv` names and runs it; help, version and unknown commands are handled here. */
export async function runProgram(
  program: Program,
  argv: readonly string[],
  io: CommandIo,
): Promise<number> {
  const programHelp = listing(`${program.name}: ${program.summary}`, programCommands(program));
  const [first, second] = argv;
  const fail = (problem: string, help: string) => {
    io.err(`${problem}\n\n${help}`);
    return 2;
  };
  if (first === undefined) return fail(`${program.name}: name a command`, programHelp);
  if (first === '--help' || first === '-h') {
    io.out(programHelp);
    return 0;
  }
  if (first === '--version') {
    io.out(program.version());
    return 0;
  }
  const entry = Object.hasOwn(program.commands, first) ? program.commands[first] : undefined;
  if (entry === undefined) {
    const what = first.startsWith('-') ? 'option' : 'command';
    return fail(`${program.name}: unknown ${what} '${first}'`, programHelp);
  }
  if (isEntry(entry)) return entry.run(argv.slice(1), io);
  const groupName = `${program.name} ${first}`;
  const groupHelp = listing(`${groupName}: one of these commands`, Object.values(entry));
  if (second === undefined) return fail(`${groupName}: name a command`, groupHelp);
  if (second === '--help' || second === '-h') {
    io.out(groupHelp);
    return 0;
  }
  if (second === '--version') {
    io.out(program.version());
    return 0;
  }
  const command = Object.hasOwn(entry, second) ? entry[second] : undefined;
  if (command === undefined) {
    const what = second.startsWith('-') ? 'option' : 'command';
    return fail(`${groupName}: unknown ${what} '${second}'`, groupHelp);
  }
  return command.run(argv.slice(2), io);
}
