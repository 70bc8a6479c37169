import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { apiCompare, Diff } from 'api-smart-diff';
import { matchesAnyGlob } from '../glob-matcher.ts';
import { filesAt, git } from './git-base.ts';

/** One breaking change in a public OpenAPI document, e.g. `POST /v1/orders requestBody.lines[].quantity`. */
export interface OpenApiIssue {
  document: string;
  path: string;
  message: string;
}

export interface OpenApiReport {
  /** Each document the globs matched, and what the gate did with it. */
  documents: { path: string; status: 'compared' | 'new' | 'removed' | 'unreadable' }[];
  breaking: OpenApiIssue[];
}

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * Compares every OpenAPI document matched by `globs` in the working tree with the same file at the
 * base commit. The working tree's copy is what `npm test` has just generated from the code (its
 * first step), the base's is the generated copy committed there: reading it with git needs no
 * checkout, install or build of the base. A document the base does not have is a new version served
 * beside the old ones, so it has nothing to break; inside a compared document, an operation the base
 * lacks can only add.
 */
export function checkOpenApiDocuments(
  root: string,
  subdir: string,
  baseSha: string,
  globs: readonly string[],
): OpenApiReport {
  const report: OpenApiReport = { documents: [], breaking: [] };
  if (globs.length === 0) return report;
  const prefix = subdir === '' ? '' : `${subdir}/`;
  const atBase = filesAt(root, baseSha)
    .filter((file) => file.startsWith(prefix))
    .map((file) => file.slice(prefix.length));
  const atHead = git(root, ['ls-files', '--cached', '--others', '--exclude-standard'])
    .stdout.split('\n')
    .filter((file) => file !== '' && existsSync(join(root, file)));
  const documents = [...new Set([...atBase, ...atHead])]
    .filter((file) => matchesAnyGlob(file, globs))
    .sort();
  for (const document of documents) {
    const inHead = existsSync(join(root, document));
    const inBase = atBase.includes(document);
    if (!inBase) {
      report.documents.push({ path: document, status: 'new' });
      continue;
    }
    if (!inHead) {
      report.documents.push({ path: document, status: 'removed' });
      report.breaking.push({
        document,
        path: document,
        message: 'the whole document was removed (every operation in it)',
      });
      continue;
    }
    const before = parseJson(git(root, ['show', `${baseSha}:${prefix}${document}`]).stdout);
    const after = parseJson(readFileSync(join(root, document), 'utf8'));
    if (!before || !after) {
      report.documents.push({ path: document, status: 'unreadable' });
      continue;
    }
    report.documents.push({ path: document, status: 'compared' });
    report.breaking.push(
      ...breakingChanges(before, after).map((change) => ({ document, ...change })),
    );
  }
  return report;
}

function parseJson(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The breaking changes between two documents, judged as @orderly/platform's diffOpenApi judges them
 * (the guard is a standalone package, so it uses the same library directly): api-smart-diff's
 * verdict, made stricter for a removed response field and any change of a value's type.
 */
export function breakingChanges(
  before: object,
  after: object,
): { path: string; message: string }[] {
  return loadCompare()(before, after)
    .diffs.filter((diff) => diff.path[0] === 'paths' && isBreaking(diff))
    .map((diff) => ({ path: label(diff), message: message(diff) }));
}

let compare: typeof apiCompare | undefined;

/** Loaded on first use, like buf: `check` (and a repository without OpenAPI documents) runs without it. */
function loadCompare(): typeof apiCompare {
  compare ??= (
    createRequire(import.meta.url)('api-smart-diff') as { apiCompare: typeof apiCompare }
  ).apiCompare;
  return compare;
}

function isBreaking(diff: Diff): boolean {
  const [, , , section] = diff.path;
  const last = diff.path.at(-1);
  const parent = diff.path.at(-2);
  // As diffOpenApi: a new enum value in an answer (as buf judges enums) and a response field no
  // longer required (one document describing several versions) are not gated.
  const keyword = typeof last === 'number' ? parent : last;
  if (
    section === 'responses' &&
    ((keyword === 'enum' && diff.action === 'add') ||
      (keyword === 'required' && diff.action === 'remove'))
  )
    return false;
  if (diff.type === 'breaking') return true;
  if (last === 'type' && diff.action !== 'rename') return true;
  return section === 'responses' && parent === 'properties' && diff.action === 'remove';
}

/** `POST /v1/orders requestBody.lines[].quantity` rather than the raw JSON path. */
function label(diff: Diff): string {
  const [, url, method, ...rest] = diff.path;
  const operation = httpMethods.has(String(method))
    ? `${String(method).toUpperCase()} ${String(url)}`
    : `${String(url)}${method === undefined ? '' : ` ${String(method)}`}`;
  let where = '';
  for (let at = 0; at < rest.length; at++) {
    const segment = rest[at];
    const next = rest[at + 1];
    if (segment === 'content' || segment === 'schema') {
      if (segment === 'content') at++; // the media type
      continue;
    }
    if (segment === 'required' && typeof next === 'number') {
      // `required: [..., "currency"]` is about the field it names.
      const named = [diff.before, diff.after].find((value) => typeof value === 'string');
      where += `.${String(named ?? next)}`;
      break;
    }
    if (segment === 'properties' && next !== undefined) {
      where += `.${String(next)}`;
      at++;
    } else if (segment === 'items') {
      where += '[]';
    } else if (typeof segment === 'number') {
      where += `[${segment}]`;
    } else {
      where += `${where === '' ? '' : '.'}${String(segment)}`;
    }
  }
  return where === '' ? operation : `${operation} ${where}`;
}

function message(diff: Diff): string {
  const text = diff.description?.replace(/^\[[A-Za-z]+\]\s*/, '');
  const what =
    diff.action === 'replace'
      ? `changed from ${show(diff.before)} to ${show(diff.after)}`
      : diff.action === 'add'
        ? `added ${show(diff.after)}`
        : `removed ${show(diff.before)}`;
  return text ? `${text} (${what})` : what;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
