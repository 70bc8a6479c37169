import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * Package boundaries are real, not an accident of npm's hoisting: every `@orderly/*` import names a
 * workspace package the importing package declares in its package.json, and the declared workspace
 * dependencies form no cycle. Files outside every workspace (bench/, test/, root configs) belong to the
 * root package. Reads files only.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface WorkspacePackage {
  readonly name: string;
  /** Repo-relative directory; '' for the root package. */
  readonly dir: string;
  readonly declared: ReadonlySet<string>;
}

const readManifest = (dir: string) =>
  JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;

function declaredOf(manifest: Manifest): Set<string> {
  return new Set(
    [
      manifest.dependencies,
      manifest.devDependencies,
      manifest.optionalDependencies,
      manifest.peerDependencies,
    ].flatMap((deps) => Object.keys(deps ?? {})),
  );
}

function workspacePackages(): WorkspacePackage[] {
  const rootManifest = readManifest('');
  const dirs = (rootManifest.workspaces ?? []).flatMap((pattern) =>
    globSync(`${pattern}/package.json`, { cwd: root }).map((file) =>
      file.replace(/\/package\.json$/, ''),
    ),
  );
  return [
    { name: rootManifest.name, dir: '', declared: declaredOf(rootManifest) },
    ...dirs.sort().map((dir) => {
      const manifest = readManifest(dir);
      return { name: manifest.name, dir, declared: declaredOf(manifest) };
    }),
  ];
}

/** The package whose directory holds `file`: the deepest workspace, else the root package. */
function ownerOf(file: string, packages: readonly WorkspacePackage[]): WorkspacePackage {
  let owner = packages[0]!;
  for (const pkg of packages) {
    if (pkg.dir !== '' && file.startsWith(`${pkg.dir}/`) && pkg.dir.length > owner.dir.length)
      owner = pkg;
  }
  return owner;
}

/** `@orderly/x` of every static import, re-export, side-effect import and dynamic import. */
export function workspaceImports(source: string): string[] {
  const found = new Set<string>();
  const pattern =
    /(?:from\s+|import\s*\(\s*|import\s+)['"](@orderly\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g;
  for (const [, name] of source.matchAll(pattern)) found.add(name!);
  return [...found];
}

/** One cycle (as a path that returns to its start) in `edges`, or undefined when there is none. */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const packages = workspacePackages();
const names = new Set(packages.map((pkg) => pkg.name));

describe('workspace packages', () => {
  test('every @orderly import is declared by the importing package', () => {
    const sources = globSync('**/*.{ts,mts,js,mjs}', {
      cwd: root,
      exclude: (path) =>
        /(^|\/)(node_modules|dist|coverage|\.orderly|\.git)$/.test(path) ||
        path.startsWith('tools/guard/fixtures'),
    });
    const undeclared: string[] = [];
    for (const file of sources) {
      const owner = ownerOf(file, packages);
      for (const name of workspaceImports(readFileSync(join(root, file), 'utf8'))) {
        if (name === owner.name || owner.declared.has(name)) continue;
        undeclared.push(
          `${file} (${owner.name}) imports ${name}, not in ${owner.dir || '.'}/package.json`,
        );
      }
    }
    expect(undeclared).toEqual([]);
  });

  test('every declared @orderly dependency is a workspace package', () => {
    const unknown = packages.flatMap((pkg) =>
      [...pkg.declared]
        .filter((name) => name.startsWith('@orderly/') && !names.has(name))
        .map((name) => `${pkg.name} declares ${name}, which no workspace provides`),
    );
    expect(unknown).toEqual([]);
  });

  test('the declared workspace dependencies form no cycle', () => {
    const edges = new Map(
      packages.map((pkg) => [pkg.name, [...pkg.declared].filter((name) => names.has(name))]),
    );
    expect(findCycle(edges)).toBeUndefined();
  });

  test('a service depends on contracts and platform, never on another service', () => {
    const services = packages.filter((pkg) => pkg.dir.startsWith('services/'));
    const serviceNames = new Set(services.map((pkg) => pkg.name));
    const crossings = services.flatMap((pkg) =>
      [...pkg.declared]
        .filter((name) => serviceNames.has(name))
        .map((name) => `${pkg.name} depends on ${name}`),
    );
    expect(crossings).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('when two packages depend on each other, then the cycle is named', () => {
    const edges = new Map([
      ['@orderly/order', ['@orderly/platform', '@orderly/inventory']],
      ['@orderly/inventory', ['@orderly/order']],
      ['@orderly/platform', []],
    ]);
    expect(findCycle(edges)).toEqual([
      '@orderly/inventory',
      '@orderly/order',
      '@orderly/inventory',
    ]);
  });

  test('when imports are spread over lines or dynamic, then each package is found once', () => {
    // Built from parts so that this file's own text holds no import of these packages.
    const pkg = (name: string) => `@orderly/${name}`;
    const source = [
      `import {\n  a,\n} from '${pkg('order-contract')}/order_events';`,
      `export { b } from '${pkg('platform')}';`,
      `const c = await import('${pkg('platform')}/testing');`,
      `import '${pkg('chaos')}';`,
      `const text = 'not an import of ${pkg('order')}';`,
    ].join('\n');
    expect(workspaceImports(source).sort()).toEqual([
      '@orderly/chaos',
      '@orderly/order-contract',
      '@orderly/platform',
    ]);
  });
});
