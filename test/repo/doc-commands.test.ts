import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * The docs cannot rot: every `npm …` / `npx …` / `npm run orderly -- …` command in a fenced block of
 * README.md and docs/*.md names a script, binary or CLI command that exists, every repository path a
 * doc names exists, and every relative link resolves. Reads files only; starts nothing.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const docs = ['README.md', ...globSync('docs/*.md', { cwd: root }).sort()];

/** Made at run time or by a build, so absent from a fresh checkout. */
const generatedPaths = ['dist/', '.orderly/', 'node_modules/', 'coverage/'];
/** npm's own commands a doc may show; `start` and `test` also need their script. */
const npmCommands = new Set(['ci', 'install', 'exec', 'run', 'start', 'test']);
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** `orderly <group> [<command>]` lines of the CLI's usage text: the commands it knows. */
function cliCommands(): Map<string, Set<string>> {
  const commands = new Map<string, Set<string>>();
  for (const file of globSync('tools/cli/src/*.ts', { cwd: root })) {
    for (const [, group = '', command] of read(file).matchAll(
      /(?:^|`)\s*orderly ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/gm,
    )) {
      const known = commands.get(group) ?? new Set<string>();
      if (command !== undefined) known.add(command);
      commands.set(group, known);
    }
  }
  return commands;
}

/** The shell lines of every fenced block, with the doc and line they are on. */
function fencedLines(doc: string): { line: string; where: string }[] {
  const lines: { line: string; where: string }[] = [];
  let fenced = false;
  read(doc)
    .split('\n')
    .forEach((line, index) => {
      if (/^\s*```/.test(line)) fenced = !fenced;
      else if (fenced)
        lines.push({ line: line.replace(/\s#.*$/, ''), where: `${doc}:${index + 1}` });
    });
  return lines;
}

/** Text outside fenced blocks (inline code spans there are prose). */
function prose(doc: string): string {
  return read(doc).replace(/^\s*```[\s\S]*?^\s*```/gm, '');
}

const topLevel = new Set(readdirSync(root).filter((name) => name !== '.git'));

/** A backticked or fenced token that starts with a top-level folder or file of the repository. */
function repositoryPath(token: string): string | undefined {
  const path = token.replace(/[),.;:]+$/, '');
  const first = path.split('/')[0] ?? '';
  if (!path.includes('/') || !topLevel.has(first)) return undefined;
  if (generatedPaths.some((generated) => path.startsWith(generated))) return undefined;
  return path;
}

/** `a/{b,c}/d` → `a/b/d`, `a/c/d`. */
function expandBraces(path: string): string[] {
  const match = /\{([^{}]*)\}/.exec(path);
  if (!match) return [path];
  return match[1]!.split(',').flatMap((option) => expandBraces(path.replace(match[0], option)));
}

function pathExists(path: string): boolean {
  // A placeholder (`services/<svc>/proto/…`) or a name made at run time (`bench/results/<date>…`):
  // the folder before it must exist.
  const placeholder = path.search(/[<*]/);
  if (placeholder >= 0) return existsSync(join(root, path.slice(0, placeholder)));
  return expandBraces(path).every((expanded) => existsSync(join(root, expanded)));
}

describe.each(docs)('%s', (doc) => {
  test('when its npm and npx commands are read, then each script, npm command and binary exists', () => {
    const problems: string[] = [];
    for (const { line, where } of fencedLines(doc)) {
      for (const [, command = '', name = ''] of line.matchAll(
        /(?:^|[\s;&|(])(npm|npx) ([\w:.@/-]+)/g,
      )) {
        if (command === 'npx') {
          if (!existsSync(join(root, 'node_modules/.bin', name)))
            problems.push(`${where}: npx ${name}`);
        } else if (name === 'run') {
          const script = /npm run ([\w:.-]+)/.exec(line.slice(line.indexOf('npm run')))?.[1] ?? '';
          if (!(script in scripts)) problems.push(`${where}: npm run ${script}`);
        } else if (
          !npmCommands.has(name) ||
          ((name === 'start' || name === 'test') && !(name in scripts))
        ) {
          problems.push(`${where}: npm ${name}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('when its orderly commands are read, then the CLI knows each one', () => {
    const known = cliCommands();
    const problems: string[] = [];
    for (const { line, where } of fencedLines(doc)) {
      for (const [, group = '', command = ''] of line.matchAll(
        /(?:npm run orderly --|^\s*(?:\$ )?orderly|dist\/bin\/orderly) ([\w-]+)(?: ([\w<-]+))?/g,
      )) {
        const commands = known.get(group);
        if (commands === undefined) problems.push(`${where}: orderly ${group}`);
        else if (commands.size > 0 && !commands.has(command))
          problems.push(`${where}: orderly ${group} ${command}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('when the repository paths it names are looked up, then each exists', () => {
    const tokens = [
      ...[...prose(doc).matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? ''),
      // Our own commands' arguments (a kubectl line's `deploy/gateway` is a resource, not a path).
      ...fencedLines(doc)
        .filter(({ line }) => /(^|\s)(npm|npx|node)\s|(^|[;&|]\s*)orderly\s/.test(line))
        .flatMap(({ line }) => line.split(/[\s=]+/)),
    ];
    const missing = tokens
      .filter((token) => !token.startsWith('../') || !token.includes('/'))
      .map(repositoryPath)
      .filter((path): path is string => path !== undefined && !pathExists(path));
    expect([...new Set(missing)]).toEqual([]);
  });

  test('when its relative links are followed, then they stay in the repository and resolve', () => {
    const problems: string[] = [];
    for (const [, target = ''] of prose(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      const path = resolve(root, dirname(doc), target.split('#')[0] ?? '');
      if (relative(root, path).startsWith('..') || !existsSync(path)) problems.push(target);
    }
    expect(problems).toEqual([]);
  });

  test('when its backticked paths are read, then none points outside the repository', () => {
    expect([...prose(doc).matchAll(/`(\.\.\/[^`\n]*)`/g)].map((m) => m[1])).toEqual([]);
  });
});

test('when the CLI usage is read, then the checks above know its commands', () => {
  const known = cliCommands();
  expect([...known.keys()].sort()).toEqual(
    [
      'config',
      'contracts',
      'dead-letters',
      'debug',
      'doctor',
      'keys',
      'map',
      'orders',
      'trace',
      'workload-keys',
    ].sort(),
  );
  expect([...(known.get('dead-letters') ?? [])].sort()).toEqual(['list', 'redrive']);
});

test('when the docs index is read, then it links every page in docs/ on a line of its own', () => {
  const index = read('docs/README.md');
  const pages = docs.filter((doc) => doc.startsWith('docs/') && doc !== 'docs/README.md');
  expect(
    pages.filter(
      (page) => !new RegExp(`^\\|.*\\]\\(${page.slice('docs/'.length)}\\)`, 'm').test(index),
    ),
  ).toEqual([]);
});
