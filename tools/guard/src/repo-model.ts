import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { GuardConfig } from './config-loader.ts';
import { isUnderAnyDir, matchesAnyGlob, matchesGlob, matchingDirPrefix } from './glob-matcher.ts';

export interface ServiceInfo {
  name: string;
  /** Repo-relative directory, e.g. `services/order`. */
  root: string;
  packageName?: string;
}

export interface WorkspacePackage {
  name: string;
  dir: string;
  manifest: Record<string, unknown>;
}

/**
 * What the rules need to know about the checked repository: its files, which service owns
 * each file, and which workspace packages exist. Paths are repo-relative posix paths.
 */
export class RepoModel {
  readonly files: string[];
  readonly fileSet: Set<string>;
  readonly services: ServiceInfo[];
  readonly packages: Map<string, WorkspacePackage>;

  constructor(
    readonly root: string,
    readonly config: GuardConfig,
  ) {
    this.files = walkFiles(root, config.exclude);
    this.fileSet = new Set(this.files);
    this.packages = readWorkspacePackages(root, this.files);
    this.services = discoverServices(root, this.files, config.serviceRoots, this.packages);
  }

  readText(file: string): string {
    return readFileSync(join(this.root, file), 'utf8');
  }

  serviceOf(file: string): ServiceInfo | undefined {
    const prefix = matchingDirPrefix(file, this.config.serviceRoots);
    return prefix === undefined
      ? undefined
      : this.services.find((service) => service.root === prefix);
  }

  serviceByName(name: string): ServiceInfo | undefined {
    return this.services.find((service) => service.name === name);
  }

  isContract(file: string): boolean {
    return matchesAnyGlob(file, this.config.contracts.generated);
  }

  /**
   * Whose contract a proto or generated file is: the service holding it, else the folder name of the
   * contract package holding it (`contracts/order/gen/...` → `order`).
   */
  contractOwnerOf(file: string): string | undefined {
    const service = this.serviceOf(file);
    if (service) return service.name;
    if (
      !this.isContract(file) &&
      matchingDirPrefix(file, this.config.contracts.proto) === undefined
    )
      return undefined;
    return this.packageOf(file)?.dir.split('/').pop();
  }

  isAllowedShared(file: string): boolean {
    return isUnderAnyDir(file, this.config.allowedSharedPackages);
  }

  isCompositionRoot(file: string): boolean {
    return matchesAnyGlob(file, this.config.compositionRoots);
  }

  isConfigFile(file: string): boolean {
    return matchesAnyGlob(file, this.config.configFiles);
  }

  isTestFile(file: string): boolean {
    return matchesAnyGlob(file, this.config.testFiles);
  }

  /** The workspace package whose directory holds the file, if any. */
  packageOf(file: string): WorkspacePackage | undefined {
    let best: WorkspacePackage | undefined;
    for (const pkg of this.packages.values()) {
      if (pkg.dir !== '' && (file === pkg.dir || file.startsWith(`${pkg.dir}/`))) {
        if (!best || pkg.dir.length > best.dir.length) best = pkg;
      }
    }
    return best;
  }

  /** TypeScript sources the code rules read: service roots, allowed shared packages and `include`. */
  sourceFiles(): string[] {
    const dirs = [
      ...this.config.serviceRoots,
      ...this.config.allowedSharedPackages,
      ...this.config.include,
    ];
    return this.files.filter(
      (file) => isTypeScript(file) && isUnderAnyDir(file, dirs) && !this.isContract(file),
    );
  }
}

/** TypeScript and JavaScript sources (declaration files excluded): services are written in both. */
export function isTypeScript(file: string): boolean {
  return /\.(?:[cm]?[jt]s|[jt]sx)$/.test(file) && !file.endsWith('.d.ts');
}

const alwaysSkipped = new Set(['node_modules', 'dist', 'coverage']);

function walkFiles(root: string, exclude: string[]): string[] {
  const files: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.name.startsWith('.') || alwaysSkipped.has(entry.name)) continue;
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        // A pattern like `tools/guard/fixtures/**` also matches the directory's own children, so probe one.
        if (matchesAnyGlob(`${path}/x`, exclude) && matchesAnyGlob(`${path}/x/y`, exclude))
          continue;
        visit(path);
      } else if (entry.isFile() && !matchesAnyGlob(path, exclude)) {
        files.push(path);
      }
    }
  };
  visit('');
  return files.sort();
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Workspace packages from the root manifest's `workspaces` (npm/yarn) plus any package.json under them. */
function readWorkspacePackages(root: string, files: string[]): Map<string, WorkspacePackage> {
  const packages = new Map<string, WorkspacePackage>();
  const rootManifest = readJson(join(root, 'package.json'));
  const workspaces = rootManifest?.workspaces;
  const globs = Array.isArray(workspaces)
    ? workspaces
    : Array.isArray((workspaces as { packages?: unknown } | undefined)?.packages)
      ? (workspaces as { packages: unknown[] }).packages
      : [];
  for (const file of files) {
    if (basename(file) !== 'package.json' || file === 'package.json') continue;
    const dir = file.slice(0, -'/package.json'.length);
    if (!globs.some((glob) => typeof glob === 'string' && matchesGlob(dir, glob))) continue;
    const manifest = readJson(join(root, file));
    if (manifest && typeof manifest.name === 'string') {
      packages.set(manifest.name, { name: manifest.name, dir, manifest });
    }
  }
  return packages;
}

function discoverServices(
  repoRoot: string,
  files: string[],
  serviceRoots: string[],
  packages: Map<string, WorkspacePackage>,
): ServiceInfo[] {
  const roots = new Set<string>();
  for (const file of files) {
    const prefix = matchingDirPrefix(file, serviceRoots);
    if (prefix !== undefined && prefix !== file) roots.add(prefix);
  }
  return [...roots].sort().map((root) => {
    const pkg = [...packages.values()].find((candidate) => candidate.dir === root);
    const name = root === '' ? rootServiceName(repoRoot) : basename(root);
    return { name, root, ...(pkg ? { packageName: pkg.name } : {}) };
  });
}

/** A repository that is one service is named after its package (scope dropped), else its directory. */
function rootServiceName(repoRoot: string): string {
  const name = readJson(join(repoRoot, 'package.json'))?.name;
  return typeof name === 'string' ? (name.split('/').pop() ?? name) : basename(repoRoot);
}

export function fileExists(root: string, file: string): boolean {
  return existsSync(join(root, file));
}
