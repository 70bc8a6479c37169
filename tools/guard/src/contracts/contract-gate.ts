import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { loadConfig, type GuardConfig } from '../config-loader.ts';
import { matchesAnyGlob, matchingDirPrefix } from '../glob-matcher.ts';
import { ImportResolver } from '../import-resolver.ts';
import { isTypeScript, RepoModel } from '../repo-model.ts';
import { SourceIndex } from '../source-index.ts';
import { checkEventVersions, type EventVersionIssue } from './event-versions.ts';
import { filesAt, findBaseRef, git, type BaseRef } from './git-base.ts';
import { checkOpenApiDocuments, type OpenApiReport } from './openapi-gate.ts';

export interface BufIssue {
  path: string;
  line: number;
  column: number;
  type: string;
  message: string;
}

export interface BreakingIssue extends BufIssue {
  service?: string;
}

export interface ContractReport {
  ok: boolean;
  base?: BaseRef;
  /** Why the breaking check was skipped (no base, no protos at the base). */
  skipped?: string;
  lint: BufIssue[];
  breaking: BreakingIssue[];
  /** Service → the services/packages importing its generated contract. */
  consumers: Record<string, string[]>;
  /** The public OpenAPI documents (`contracts.openapi`) compared with the base. */
  openapi: OpenApiReport;
  /** Event versions a producer's publish flag can drop while a consumer still declares them. */
  eventVersions: EventVersionIssue[];
  error?: string;
}

export interface ContractOptions {
  against?: string;
  configPath?: string;
  baseBranch?: string;
  /** Path to the buf binary; found in node_modules when omitted. */
  buf?: string;
}

/** `buf lint` plus `buf breaking` against the base commit, with breaking files mapped to services and their consumers. */
export function checkContracts(path: string, options: ContractOptions = {}): ContractReport {
  const root = resolve(path);
  const report: ContractReport = {
    ok: true,
    lint: [],
    breaking: [],
    consumers: {},
    openapi: { documents: [], breaking: [] },
    eventVersions: [],
  };
  const fail = (error: string): ContractReport => ({ ...report, ok: false, error });

  const gitRoot = git(root, ['rev-parse', '--show-toplevel']);
  if (!gitRoot.ok) return fail(`${root} is not inside a git repository`);
  const config = loadConfig(root, options.configPath);
  const subdir = relative(gitRoot.stdout, root).split('\\').join('/');
  const buf = options.buf ?? findBuf(root);
  if (!buf) return fail('buf not found: install @bufbuild/buf (npm i -D @bufbuild/buf)');
  if (!existsSync(join(root, 'buf.yaml'))) {
    const base = findBaseRef(root, options.against, options.baseBranch);
    if (base && 'error' in base) return fail(base.error);
    checkPublicContracts(report, root, subdir, base, config);
    report.ok = report.openapi.breaking.length === 0 && report.eventVersions.length === 0;
    return { ...report, skipped: 'no buf.yaml at the repository root' };
  }

  const lint = runBuf(buf, root, ['lint', '--error-format', 'json']);
  if (lint.error) return fail(`buf lint failed to run: ${lint.error}`);
  report.lint = lint.issues;

  const base = findBaseRef(root, options.against, options.baseBranch);
  if (base && 'error' in base) return fail(base.error);
  if (!base) {
    report.skipped = 'no base to compare (the repository has a single commit)';
  } else {
    report.base = base;
    const baseFiles = filesAt(root, base.sha).map((file) =>
      subdir === '' ? file : file.slice(subdir.length + 1),
    );
    // The base's own buf.yaml says where its modules were: contracts that moved since then
    // (e.g. services/<svc>/proto → contracts/<svc>/proto) are still compared, not skipped.
    const baseModules = bufModulePaths(
      git(root, ['show', `${base.sha}:${subdir === '' ? '' : `${subdir}/`}buf.yaml`]).stdout,
    );
    const baseProtos = baseFiles.filter(
      (file) =>
        file.endsWith('.proto') &&
        (matchingDirPrefix(file, config.contracts.proto) !== undefined ||
          baseModules.some((dir) => file.startsWith(`${dir}/`))),
    );
    if (baseProtos.length === 0 || !baseFiles.includes('buf.yaml')) {
      report.skipped = `no base to compare (${base.sha.slice(0, 12)} has no proto files in a buf workspace yet)`;
    } else {
      const against = `${join(gitRoot.stdout, '.git')}#ref=${base.sha}${subdir === '' ? '' : `,subdir=${subdir}`}${depthOption(root, base.sha)}`;
      const breaking = runBuf(buf, root, [
        'breaking',
        '--against',
        against,
        '--error-format',
        'json',
      ]);
      if (breaking.error) return fail(`buf breaking failed to run: ${breaking.error}`);
      const model = new RepoModel(root, config);
      report.breaking = breaking.issues.map((issue) => {
        const service = serviceOfProto(model, issue.path);
        return service ? { ...issue, service } : issue;
      });
      const broken = new Set(
        report.breaking.flatMap((issue) => (issue.service ? [issue.service] : [])),
      );
      if (broken.size > 0) report.consumers = findConsumers(model, broken);
    }
  }
  checkPublicContracts(report, root, subdir, base, config);
  report.ok =
    report.lint.length === 0 &&
    report.breaking.length === 0 &&
    report.openapi.breaking.length === 0 &&
    report.eventVersions.length === 0;
  return report;
}

/** The parts that need no buf: the public OpenAPI documents and the consumers' event-version declarations. */
function checkPublicContracts(
  report: ContractReport,
  root: string,
  subdir: string,
  base: BaseRef | undefined,
  config: GuardConfig,
): void {
  if (base)
    report.openapi = checkOpenApiDocuments(root, subdir, base.sha, config.contracts.openapi);
  if (config.contracts.flags.length > 0) {
    report.eventVersions = checkEventVersions(
      new RepoModel(root, config),
      config.contracts.flags,
    ).issues;
  }
}

/** The `modules: - path: <dir>` entries of a buf.yaml (v2); none for v1 or an empty text. */
export function bufModulePaths(bufYaml: string): string[] {
  return [...bufYaml.matchAll(/^\s*-\s*path:\s*["']?([^"'\s#]+)["']?/gm)].map(([, dir]) =>
    dir!.replace(/\/+$/, ''),
  );
}

/** buf clones the ref with depth 50 by default; deepen when the base is further back. */
function depthOption(root: string, sha: string): string {
  const count = Number(git(root, ['rev-list', '--count', `${sha}..HEAD`]).stdout);
  return Number.isFinite(count) && count >= 40 ? `,depth=${count + 10}` : '';
}

function findBuf(root: string): string | undefined {
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '.bin', 'buf');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  try {
    const manifest = createRequire(import.meta.url).resolve('@bufbuild/buf/package.json');
    const candidate = join(dirname(manifest), 'bin', 'buf');
    if (existsSync(candidate)) return candidate;
  } catch {
    // Not installed next to the guard either; fall through to PATH.
  }
  return spawnSync('buf', ['--version']).status === 0 ? 'buf' : undefined;
}

function runBuf(buf: string, cwd: string, args: string[]): { issues: BufIssue[]; error?: string } {
  const result = spawnSync(buf, args, { cwd, encoding: 'utf8' });
  if (result.error) return { issues: [], error: result.error.message };
  // buf exits 100 when it found issues and anything else non-zero when it could not run.
  if (result.status !== 0 && result.status !== 100) {
    return {
      issues: [],
      error: (result.stderr || result.stdout || `exit ${result.status}`).trim(),
    };
  }
  const issues: BufIssue[] = [];
  for (const line of (result.stdout ?? '').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const raw = JSON.parse(line) as Record<string, unknown>;
      issues.push({
        path: asText(raw.path),
        line: Number(raw.start_line ?? 1),
        column: Number(raw.start_column ?? 1),
        type: asText(raw.type),
        message: asText(raw.message),
      });
    } catch {
      issues.push({ path: '', line: 1, column: 1, type: 'BUF', message: line });
    }
  }
  if (result.status === 100 && issues.length === 0) {
    return { issues: [], error: (result.stderr || 'buf reported failures without details').trim() };
  }
  return { issues };
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function serviceOfProto(model: RepoModel, path: string): string | undefined {
  const direct = model.contractOwnerOf(path);
  if (direct) return direct;
  // Some buf versions print paths relative to the module root: find the module holding the file.
  const holder = model.files.find(
    (file) =>
      file.endsWith(`/${path}`) &&
      matchingDirPrefix(file, model.config.contracts.proto) !== undefined,
  );
  return holder ? model.contractOwnerOf(holder) : undefined;
}

/** Everything outside a contract's owner that imports its generated code, named by service or package. */
export function findConsumers(model: RepoModel, services: Set<string>): Record<string, string[]> {
  const index = new SourceIndex(model);
  const resolver = new ImportResolver(model);
  const consumers: Record<string, Set<string>> = {};
  for (const file of model.files) {
    if (!isTypeScript(file) || model.isContract(file)) continue;
    const importer = model.serviceOf(file);
    for (const ref of index.get(file).imports) {
      const resolution = resolver.resolve(file, ref.specifier);
      if (
        resolution.kind !== 'file' ||
        !matchesAnyGlob(resolution.path, model.config.contracts.generated)
      )
        continue;
      const owner = model.contractOwnerOf(resolution.path);
      if (!owner || owner === importer?.name || !services.has(owner)) continue;
      const label =
        importer?.name ?? model.packageOf(file)?.name ?? file.split('/').slice(0, 2).join('/');
      (consumers[owner] ??= new Set()).add(label);
    }
  }
  return Object.fromEntries(
    [...services].sort().map((service) => [service, [...(consumers[service] ?? [])].sort()]),
  );
}

export function formatContractReport(report: ContractReport): string {
  const lines: string[] = [];
  if (report.error) lines.push(`orderly-guard contracts: error: ${report.error}`);
  for (const issue of report.lint) {
    lines.push(
      `${issue.path}:${issue.line}:${issue.column}  buf-lint  ${issue.type}: ${issue.message}  → follow the buf STANDARD style`,
    );
  }
  for (const issue of report.breaking) {
    const consumers = issue.service ? (report.consumers[issue.service] ?? []) : [];
    const who = issue.service
      ? `consumers of ${issue.service} would break: ${consumers.length > 0 ? consumers.join(', ') : '(none found in this repo, but deployed clients may exist)'}`
      : 'a consumer of this contract would break';
    lines.push(
      `${issue.path}:${issue.line}:${issue.column}  buf-breaking  ${issue.type}: ${issue.message}  → ${who}`,
    );
  }
  for (const issue of report.openapi.breaking) {
    lines.push(
      `${issue.document}  openapi-breaking  ${issue.path}: ${issue.message}  → public API clients would break`,
    );
  }
  if (report.openapi.breaking.length > 0) {
    lines.push(
      `Breaking change in the public OpenAPI document compared with ${report.base?.sha.slice(0, 12)} (${report.base?.how}).`,
      `If it is intentional, do not change a served version: serve the change as a new version beside it (X-Contract-Version, its own document), move callers over, then retire the old one.`,
    );
  }
  for (const issue of report.eventVersions) {
    const who = issue.consumers.map((consumer) => `${consumer.name} (${consumer.manifest})`);
    const published = issue.publishes.join(',') || 'nothing';
    lines.push(
      issue.reason === 'closed'
        ? `${issue.file}  event-version-retired  ${issue.flag} variant "${issue.variant}" publishes ${published} and stops ${issue.producer} ${issue.version}, which ${who.join(', ')} still declare${issue.consumers.length === 1 ? 's' : ''} in orderly.consumes.${issue.producer}  → move ${issue.consumers.length === 1 ? 'it' : 'them'} off ${issue.version} first, then close the window`
        : `${issue.file}  event-version-unread  ${issue.flag} variant "${issue.variant}" publishes ${published}, none of the ${issue.producer} versions ${who.join(', ')} declares in orderly.consumes.${issue.producer} (${issue.version})  → publish a version it reads, or declare (and read) a published one`,
    );
  }
  const brokenServices = [
    ...new Set(report.breaking.flatMap((issue) => (issue.service ? [issue.service] : []))),
  ].sort();
  if (report.breaking.length > 0) {
    lines.push(
      `Breaking change in the contract of ${brokenServices.join(', ') || 'a module'} compared with ${report.base?.sha.slice(0, 12)} (${report.base?.how}).`,
      `If it is intentional, do not edit v1: add a new package version (e.g. proto/<svc>/v2 with package <svc>.v2) next to v1, move consumers over, then retire v1.`,
    );
  }
  if (report.openapi.documents.length > 0) {
    const documents = report.openapi.documents.map((doc) => `${doc.path} (${doc.status})`);
    lines.push(
      `orderly-guard contracts: OpenAPI ${documents.join(', ')}: ${report.openapi.breaking.length} breaking change(s)`,
    );
  }
  if (report.skipped)
    lines.push(`orderly-guard contracts: ${report.skipped}; breaking check passed`);
  if (report.ok && !report.skipped && report.base) {
    lines.push(
      `orderly-guard contracts: lint clean, no breaking changes against ${report.base.sha.slice(0, 12)} (${report.base.how})`,
    );
  } else if (report.ok && report.skipped) {
    lines.push('orderly-guard contracts: lint clean');
  }
  return lines.join('\n');
}
