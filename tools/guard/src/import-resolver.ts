import { posix } from 'node:path';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import ts from 'typescript';
import type { RepoModel, WorkspacePackage } from './repo-model.ts';

export type Resolution =
  | { kind: 'file'; path: string; via: 'relative' | 'package' | 'alias'; packageName?: string }
  | { kind: 'external'; packageName: string };

interface PathAliases {
  base: string;
  paths: Record<string, string[]>;
}

/**
 * Resolves module specifiers to repo files the way this repo's tooling would: relative paths,
 * tsconfig `paths` aliases, then workspace package names through their `exports`. Whatever
 * is left is an external package. Files need not exist: the location decides the verdict.
 */
export class ImportResolver {
  private readonly aliasCache = new Map<string, PathAliases | undefined>();
  private readonly resolutionCache = new Map<string, Resolution>();

  constructor(private readonly model: RepoModel) {}

  resolve(fromFile: string, specifier: string): Resolution {
    const key = `${posix.dirname(fromFile)}\0${specifier}`;
    let resolution = this.resolutionCache.get(key);
    if (!resolution) {
      resolution = this.resolveUncached(fromFile, specifier);
      this.resolutionCache.set(key, resolution);
    }
    return resolution;
  }

  private resolveUncached(fromFile: string, specifier: string): Resolution {
    if (specifier.startsWith('.') || specifier.startsWith('/')) {
      const path = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
      return { kind: 'file', path: this.findFile(path), via: 'relative' };
    }
    const aliased = this.resolveAlias(fromFile, specifier);
    if (aliased) return { kind: 'file', path: aliased, via: 'alias' };
    const packageName = packageNameOf(specifier);
    const pkg = this.model.packages.get(packageName);
    if (pkg) {
      const subpath = `.${specifier.slice(packageName.length)}`;
      const target = resolveExports(pkg, subpath) ?? subpath;
      return {
        kind: 'file',
        path: this.findFile(posix.normalize(posix.join(pkg.dir, target))),
        via: 'package',
        packageName,
      };
    }
    return { kind: 'external', packageName };
  }

  /** Maps `x.js` to the `x.ts` that exists, adds extensions and `/index`; keeps the path when nothing exists. */
  findFile(path: string): string {
    const files = this.model.fileSet;
    const stem = path.replace(/\.(?:js|mjs|cjs|jsx)$/, '');
    const candidates = [
      path,
      `${stem}.ts`,
      `${stem}.tsx`,
      `${stem}.mts`,
      `${stem}.d.ts`,
      `${path}/index.ts`,
      `${path}/index.tsx`,
    ];
    return candidates.find((candidate) => files.has(candidate)) ?? path;
  }

  private resolveAlias(fromFile: string, specifier: string): string | undefined {
    const aliases = this.aliasesFor(posix.dirname(fromFile));
    if (!aliases) return undefined;
    for (const [pattern, targets] of Object.entries(aliases.paths)) {
      const star = pattern.indexOf('*');
      let captured: string | undefined;
      if (star === -1) {
        if (pattern === specifier) captured = '';
      } else {
        const prefix = pattern.slice(0, star);
        const suffix = pattern.slice(star + 1);
        if (
          specifier.startsWith(prefix) &&
          specifier.endsWith(suffix) &&
          specifier.length >= prefix.length + suffix.length
        ) {
          captured = specifier.slice(prefix.length, specifier.length - suffix.length);
        }
      }
      if (captured === undefined) continue;
      const resolved = targets.map((target) =>
        this.findFile(posix.normalize(posix.join(aliases.base, target.replace('*', captured)))),
      );
      return resolved.find((candidate) => this.model.fileSet.has(candidate)) ?? resolved[0];
    }
    return undefined;
  }

  /** `paths` from the nearest tsconfig.json (following relative `extends`), relative to the repo root. */
  private aliasesFor(dir: string): PathAliases | undefined {
    if (this.aliasCache.has(dir)) return this.aliasCache.get(dir);
    let aliases: PathAliases | undefined;
    const tsconfig = dir === '.' || dir === '' ? 'tsconfig.json' : `${dir}/tsconfig.json`;
    if (this.model.fileSet.has(tsconfig)) {
      aliases = readPaths(this.model.root, tsconfig);
    } else if (dir !== '.' && dir !== '') {
      aliases = this.aliasesFor(posix.dirname(dir));
    }
    this.aliasCache.set(dir, aliases);
    return aliases;
  }
}

function readPaths(root: string, tsconfig: string, depth = 0): PathAliases | undefined {
  const absolute = join(root, tsconfig);
  const { config } = ts.readConfigFile(absolute, (path) => ts.sys.readFile(path)) as {
    config?: {
      extends?: unknown;
      compilerOptions?: { paths?: Record<string, string[]>; baseUrl?: string };
    };
  };
  const options = config?.compilerOptions;
  const configDir = posix.dirname(tsconfig);
  if (options?.paths) {
    const base = posix.normalize(posix.join(configDir, options.baseUrl ?? '.'));
    return { base, paths: options.paths };
  }
  const parent = config?.extends;
  if (typeof parent === 'string' && parent.startsWith('.') && depth < 5) {
    let parentPath = posix.normalize(posix.join(configDir, parent));
    if (!parentPath.endsWith('.json')) parentPath += '.json';
    if (existsSync(join(root, parentPath))) return readPaths(root, parentPath, depth + 1);
  }
  return undefined;
}

export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Resolves a subpath (`.` or `./contract/x`) through a manifest's `exports`, patterns included. */
export function resolveExports(pkg: WorkspacePackage, subpath: string): string | undefined {
  const exportsField = pkg.manifest.exports;
  if (exportsField === undefined) {
    return subpath === '.' && typeof pkg.manifest.main === 'string' ? pkg.manifest.main : undefined;
  }
  if (typeof exportsField === 'string' || Array.isArray(exportsField)) {
    return subpath === '.' ? exportTarget(exportsField) : undefined;
  }
  if (typeof exportsField !== 'object' || exportsField === null) return undefined;
  const entries = Object.entries(exportsField as Record<string, unknown>);
  if (!entries.some(([key]) => key.startsWith('.'))) {
    return subpath === '.' ? exportTarget(exportsField) : undefined;
  }
  const exact = entries.find(([key]) => key === subpath);
  if (exact) return exportTarget(exact[1]);
  for (const [key, value] of entries) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (
      subpath.startsWith(prefix) &&
      subpath.endsWith(suffix) &&
      subpath.length >= prefix.length + suffix.length
    ) {
      const captured = subpath.slice(prefix.length, subpath.length - suffix.length);
      return exportTarget(value)?.replaceAll('*', captured);
    }
  }
  return undefined;
}

function exportTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(exportTarget).find((target) => target !== undefined);
  if (typeof value === 'object' && value !== null) {
    const conditions = value as Record<string, unknown>;
    for (const condition of ['types', 'import', 'node', 'default', 'require']) {
      const target = exportTarget(conditions[condition]);
      if (target) return target;
    }
  }
  return undefined;
}
