import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { packageNameOf, type ImportResolver } from '../import-resolver.ts';
import type { RepoModel } from '../repo-model.ts';
import type { SourceIndex } from '../source-index.ts';

/** A TypeScript program over the checked sources, with its type checker. */
export interface GuardProgram {
  program: ts.Program;
  checker: ts.TypeChecker;
  /** The repo-relative path of a program file, or undefined for library files (lib, node_modules). */
  repoPath(sourceFile: ts.SourceFile): string | undefined;
  /** The program's source file for a repo-relative path. */
  sourceFile(file: string): ts.SourceFile | undefined;
}

/** Library declaration files (TypeScript's lib, node_modules) parsed once per process: they do not change under a check. */
const libraryFiles = new Map<string, ts.SourceFile>();

const extensionOf: Record<string, ts.Extension> = {
  '.ts': ts.Extension.Ts,
  '.tsx': ts.Extension.Tsx,
  '.mts': ts.Extension.Mts,
  '.cts': ts.Extension.Cts,
  '.d.ts': ts.Extension.Dts,
  '.js': ts.Extension.Js,
  '.jsx': ts.Extension.Jsx,
  '.mjs': ts.Extension.Mjs,
  '.cjs': ts.Extension.Cjs,
};

/**
 * Builds one program over `files` (repo-relative). Repo files come from the shared SourceIndex so
 * every rule sees the same ASTs; workspace packages and tsconfig `paths` resolve through the
 * guard's own resolver, so a repository without `node_modules` still links its own modules.
 * Everything else (drivers, HTTP clients, `@types/node`) resolves the usual way when installed;
 * when it is not, the rules fall back to the import specifiers.
 */
export function createGuardProgram(
  model: RepoModel,
  index: SourceIndex,
  resolver: ImportResolver,
  files: string[],
): GuardProgram {
  const root = model.root;
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowJs: true,
    checkJs: false,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: false,
    strict: true,
    // ES2023 plus the DOM's fetch/URL/AbortSignal: what Node offers globally, without reading @types/node.
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
    noResolve: false,
  };
  const host = ts.createCompilerHost(options, true);
  const toRepo = (absolute: string): string | undefined => {
    const path = relative(root, absolute).split(sep).join('/');
    return path.startsWith('..') || path.includes('node_modules/') ? undefined : path;
  };
  const originalGetSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const path = toRepo(fileName);
    if (path !== undefined && model.fileSet.has(path) && isScript(path)) {
      return index.get(path).sourceFile;
    }
    const cached = libraryFiles.get(fileName);
    if (cached) return cached;
    const sourceFile = originalGetSourceFile(fileName, languageVersion, onError, shouldCreate);
    if (sourceFile) libraryFiles.set(fileName, sourceFile);
    return sourceFile;
  };
  const cache = ts.createModuleResolutionCache(root, (name) => name, options);
  host.resolveModuleNameLiterals = (literals, containingFile) =>
    literals.map((literal) => {
      const from = toRepo(containingFile);
      if (from !== undefined) {
        const resolution = resolver.resolve(from, literal.text);
        if (resolution.kind === 'file' && model.fileSet.has(resolution.path)) {
          const extension = Object.keys(extensionOf)
            .sort((a, b) => b.length - a.length)
            .find((candidate) => resolution.path.endsWith(candidate));
          if (extension && isScript(resolution.path)) {
            return {
              resolvedModule: {
                resolvedFileName: join(root, resolution.path),
                extension: extensionOf[extension] as ts.Extension,
                isExternalLibraryImport: false,
              },
            };
          }
        }
      }
      // Library types are read only for the packages whose types tell a client or a server apart;
      // the others stay unresolved (their imports still name them), which keeps the program small.
      if (from !== undefined && !typedPackages.has(packageNameOf(literal.text))) {
        return { resolvedModule: undefined };
      }
      return ts.resolveModuleName(literal.text, containingFile, options, host, cache);
    });
  const program = ts.createProgram({
    rootNames: files.map((file) => join(root, file)),
    options,
    host,
  });
  const checker = program.getTypeChecker();
  return {
    program,
    checker,
    repoPath: (sourceFile) =>
      sourceFile.isDeclarationFile && sourceFile.fileName.includes('/node_modules/')
        ? undefined
        : toRepo(sourceFile.fileName),
    sourceFile: (file) => program.getSourceFile(join(root, file)),
  };
}

/** Packages whose declared types the analysis reads (clients and servers known by their type). */
const typedPackages = new Set([
  '@connectrpc/connect',
  '@connectrpc/connect-node',
  '@connectrpc/connect-web',
  '@grpc/grpc-js',
  'nice-grpc',
  'axios',
  'got',
  'ky',
  'undici',
  'node-fetch',
  'superagent',
  'express',
  'fastify',
  'koa',
  '@koa/router',
  'hono',
]);

function isScript(path: string): boolean {
  return /\.(?:[cm]?[jt]s|[jt]sx)$/.test(path);
}
