import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  defineCommand,
  parseCommand,
  programCommands,
  runProgram,
  usageLine,
  type CommandIo,
} from '../src/command-line.js';
import { orderlyProgram } from '../src/commands.js';
import { orderly } from './orderly-process.js';

/**
 * The command lines are parsed strictly: an unknown option or a missing value exits 2 naming it
 * (plus the usage line), `--help` prints the usage and does nothing else, `--version` prints the
 * version, and a command that changes what cannot be restored asks for an explicit flag.
 */
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))));

/** A TCP listener standing in for a service: it counts the connections it was asked for. */
async function countingListener(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

describe('orderly, run as a process', () => {
  test('when an option is unknown, then it exits 2 with one line naming it and the usage line, and no stack trace', async () => {
    const result = await orderly(['dead-letters', 'list', '--jsn']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "orderly dead-letters list: unknown option '--jsn'\n" +
        'usage: orderly dead-letters list [--json] [--config <file>] [--set <key=value> ...]\n',
    );
    expect(result.stdout).toBe('');
  });

  test('when an option misses its value, then it exits 2 naming the option', async () => {
    const result = await orderly(['trace', 'some-order', '--logs']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^orderly trace: option '--logs' needs a value\nusage: orderly trace </,
    );
  });

  test('when --help is given, then it prints usage, options and an example, exits 0 and connects to nothing', async () => {
    const identity = await countingListener();

    const result = await orderly(['keys', 'rotate', '--yes', '--url', identity.url, '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: orderly keys rotate --yes/m);
    expect(result.stdout).toMatch(/^options:\n/m);
    expect(result.stdout).toMatch(/^examples?:\n {2}npm run orderly -- keys rotate/m);
    expect(identity.connections()).toBe(0);
  });

  test('when --version is given, then it prints the package version and the build', async () => {
    const result = await orderly(['--version']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^@orderly\/cli 0\.1\.0 \(Orderly \d+\.\d+\.\d+, commit ([0-9a-f]{40}|unknown), run from source\)\n$/,
    );
  });

  test('when keys rotate has no --yes, then it exits 2 saying so and never calls the identity service', async () => {
    const identity = await countingListener();

    const result = await orderly(['keys', 'rotate', '--url', identity.url]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^orderly keys rotate: nothing rotated: .*pass --yes/);
    expect(identity.connections()).toBe(0);
  });

  test('when the command is unknown, then it exits 2 and lists the commands', async () => {
    const result = await orderly(['dead-letter', 'redrive', '--all']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^orderly: unknown command 'dead-letter'\n/);
    expect(result.stderr).toContain('orderly dead-letters redrive (--id <id> ... | --all)');
  });
});

describe.each(programCommands(orderlyProgram).map((entry) => [entry.spec.name, entry] as const))(
  '%s',
  (name, entry) => {
    const argv = name.split(' ').slice(1);

    test.each([['--help'], ['-h']])(
      'when %s is given, then it prints its usage and an example and exits 0',
      async (flag) => {
        const result = capture();

        expect(await runProgram(orderlyProgram, [...argv, flag], result.io)).toBe(0);

        expect(result.out()).toContain(`\nusage: ${name} `);
        expect(result.out()).toMatch(/\nexamples?:\n {2}npm run orderly -- /);
        expect(result.err()).toBe('');
      },
    );

    test('when --version is given, then it prints the version and exits 0', async () => {
      const result = capture();

      expect(await runProgram(orderlyProgram, [...argv, '--version'], result.io)).toBe(0);

      expect(result.out()).toMatch(/^@orderly\/cli 0\.1\.0 \(Orderly /);
    });

    test('when an option is unknown, then it exits 2 naming it, before doing anything', async () => {
      const result = capture();

      expect(await runProgram(orderlyProgram, [...argv, '--no-such-option'], result.io)).toBe(2);

      expect(result.err()).toBe(
        `${name}: unknown option '--no-such-option'\nusage: ${usageLine(entry.spec)}\n`,
      );
      expect(result.out()).toBe('');
    });

    test('when its usage line is read, then every option it names is declared', () => {
      const declared = new Set([
        ...Object.keys(entry.spec.options),
        ...(entry.spec.configLayers ? ['config', 'set'] : []),
      ]);
      const named = [...entry.spec.synopsis.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!);

      expect(named.filter((option) => !declared.has(option))).toEqual([]);
    });
  },
);

describe('parseCommand', () => {
  const spec = defineCommand({
    name: 'example',
    summary: 'an example.',
    synopsis: '<word> [--id <id> ...] [--all]',
    positionals: { name: '<word>', min: 1, max: 1 },
    options: {
      id: { type: 'string', multiple: true, value: 'id', description: 'an id' },
      all: { type: 'boolean', description: 'all of them' },
    },
    configLayers: true,
    examples: ['example word --all'],
    version: () => 'example 1.0.0\n',
  });

  test('when options, settings and a positional are given, then each lands where it belongs', () => {
    const result = capture();

    const parsed = parseCommand(
      spec,
      [
        'word',
        '--id',
        'a',
        '--id=b',
        '--config',
        'my.yaml',
        '--set',
        'bus.kind=memory',
        '--logLevel=debug',
        '--services.order.port=9000',
      ],
      result.io,
    );

    expect(parsed).toEqual({
      values: { id: ['a', 'b'], config: 'my.yaml', set: ['bus.kind=memory'] },
      positionals: ['word'],
      configArgv: [
        '--config',
        'my.yaml',
        '--set',
        'bus.kind=memory',
        '--logLevel=debug',
        '--services.order.port=9000',
      ],
    });
    expect(result.err()).toBe('');
  });

  test('when a --key=value setting names no configuration section, then it is an unknown option', () => {
    const result = capture();

    expect(parseCommand(spec, ['word', '--ids=a'], result.io)).toEqual({ exitCode: 2 });
    expect(result.err()).toMatch(/^example: unknown option '--ids'\n/);
  });

  test('when a setting is written with a space, then the refusal says how to write it', () => {
    const result = capture();

    expect(parseCommand(spec, ['word', '--logLevel', 'debug'], result.io)).toEqual({
      exitCode: 2,
    });
    expect(result.err()).toMatch(
      /^example: unknown option '--logLevel' \(a configuration setting is written --logLevel=<value>\)\n/,
    );
  });

  test.each([
    [['word', '--all=yes'], "option '--all' takes no value"],
    [['word', '--id', '--all'], "option '--id' needs a value"],
    [['--all'], 'missing <word>'],
    [['word', 'other'], "unexpected argument 'other'"],
    [['word', '-x'], "unknown option '-x'"],
  ])('when the arguments are %j, then it exits 2: %s', (argv, problem) => {
    const result = capture();

    expect(parseCommand(spec, argv, result.io)).toEqual({ exitCode: 2 });
    expect(result.err()).toBe(`example: ${problem}\nusage: ${usageLine(spec)}\n`);
  });

  test('when --help comes after a mistake, then the help wins and nothing is parsed', () => {
    const result = capture();

    expect(parseCommand(spec, ['--bogus', '--help'], result.io)).toEqual({ exitCode: 0 });
    expect(result.out()).toMatch(/^example: an example\.\n\nusage: example <word>/);
    expect(result.err()).toBe('');
  });

  test('when --help follows --, then it is a positional argument', () => {
    const result = capture();

    expect(parseCommand(spec, ['--', '--help'], result.io)).toMatchObject({
      positionals: ['--help'],
    });
  });
});
