import { apiCompare, type Diff } from 'api-smart-diff';

export type ContractChangeKind = 'added' | 'removed' | 'changed';
export type ContractChangeTarget =
  'operation' | 'field' | 'parameter' | 'response' | 'header' | 'schema';
export type ContractChangeLocation = 'request' | 'response' | 'operation';

/** One difference between two OpenAPI documents, e.g. `POST /v1/orders requestBody.lines[].quantity`. */
export interface ContractChange {
  kind: ContractChangeKind;
  target: ContractChangeTarget;
  path: string;
  location: ContractChangeLocation;
  breaking: boolean;
  detail: string;
}

/** What changed from one OpenAPI document to another; `breaking` when any change is. */
export interface ContractDiff {
  from: string;
  to: string;
  breaking: boolean;
  changes: ContractChange[];
}

export interface ContractDiffLabels {
  /** Names the documents in the result; their `info.version` when omitted. */
  from?: string;
  to?: string;
}

type JsonPath = readonly (string | number)[];

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * Compares two OpenAPI 3.x documents operation by operation, with every local `$ref` resolved.
 * api-smart-diff finds and first classifies the changes; some of its verdicts are adjusted here
 * (see isBreaking). The documents are treated as immutable: the changes found for a pair of
 * document objects are remembered (a comparison of the gateway's documents costs 0.4-0.7 s of CPU,
 * and the gateway answers /openapi/contract-diff from the same two objects every time), and every
 * call gets its own copy.
 */
export function diffOpenApi(
  from: object,
  to: object,
  labels: ContractDiffLabels = {},
): ContractDiff {
  const remembered = changesOf(from, to);
  const changes = structuredClone(remembered);
  return {
    from: labels.from ?? versionOf(from),
    to: labels.to ?? versionOf(to),
    breaking: changes.some((change) => change.breaking),
    changes,
  };
}

const compared = new WeakMap<object, WeakMap<object, ContractChange[]>>();

function changesOf(from: object, to: object): ContractChange[] {
  let byTarget = compared.get(from);
  if (!byTarget) {
    byTarget = new WeakMap();
    compared.set(from, byTarget);
  }
  let changes = byTarget.get(to);
  if (!changes) {
    changes = apiCompare(from, to)
      // Descriptions, summaries and examples (api-smart-diff's "annotation") are documentation, not contract.
      .diffs.filter((diff) => diff.path[0] === 'paths' && diff.type !== 'annotation')
      .flatMap((diff) => describeDiff(diff, from, to));
    byTarget.set(to, changes);
  }
  return changes;
}

function versionOf(document: object): string {
  const info = (document as { info?: { version?: unknown } }).info;
  return typeof info?.version === 'string' ? info.version : 'unknown';
}

function describeDiff(diff: Diff, from: object, to: object): ContractChange[] {
  const [, url, method] = diff.path;
  const breaking = diff.type === 'breaking';
  if (method === undefined) {
    // A whole path item came or went: one change per operation in it.
    const item = (diff.action === 'add' ? diff.after : diff.before) as Record<string, unknown>;
    return Object.keys(item ?? {})
      .filter((key) => httpMethods.has(key))
      .map((key) => operationChange(diff, `${key.toUpperCase()} ${String(url)}`, breaking));
  }
  const operation = httpMethods.has(String(method))
    ? `${String(method).toUpperCase()} ${String(url)}`
    : `* ${String(url)}`;
  const rest = diff.path.slice(3);
  if (!httpMethods.has(String(method)) || rest.length === 0) {
    return [operationChange(diff, operation, breaking, rest.length === 0 ? [] : [method, ...rest])];
  }
  const [section, ...inside] = rest;
  if (section === 'parameters') return [parameterChange(diff, operation, inside, from, to)];
  if (section === 'requestBody') return [requestBodyChange(diff, operation, inside)];
  if (section === 'responses') return [responseChange(diff, operation, inside)];
  return [operationChange(diff, operation, breaking, rest)];
}

function operationChange(
  diff: Diff,
  operation: string,
  breaking: boolean,
  attribute: JsonPath = [],
): ContractChange {
  const whole = attribute.length === 0;
  return {
    kind: whole ? kindOf(diff) : 'changed',
    target: 'operation',
    path: operation,
    location: 'operation',
    breaking: whole ? diff.action === 'remove' || breaking : breaking,
    detail: whole
      ? `operation ${operation} ${diff.action === 'add' ? 'added' : diff.action === 'remove' ? 'removed' : 'changed'}`
      : attributeDetail(diff, attribute),
  };
}

function parameterChange(
  diff: Diff,
  operation: string,
  inside: JsonPath,
  from: object,
  to: object,
): ContractChange {
  const [index, ...attribute] = inside;
  const parameterPath = [...diff.path.slice(0, 4), index ?? 0];
  const parameter = (readPointer(diff.action === 'remove' ? from : to, parameterPath) ??
    readPointer(from, parameterPath) ??
    {}) as { name?: string; in?: string };
  const where = parameter.in ?? 'parameter';
  const name = parameter.name ?? String(index);
  const whole = attribute.length === 0;
  return {
    kind: whole ? kindOf(diff) : 'changed',
    target: where === 'header' ? 'header' : 'parameter',
    path: `${operation} parameters.${where}.${name}`,
    location: 'request',
    breaking: isBreaking(diff, attribute, 'request', false),
    detail: whole ? describe(diff, `${where} parameter ${name}`) : attributeDetail(diff, attribute),
  };
}

function requestBodyChange(diff: Diff, operation: string, inside: JsonPath): ContractChange {
  // requestBody.content.<media type>.schema.<schema path>
  if (inside[0] !== 'content' || inside[2] !== 'schema') {
    return {
      kind: inside.length === 0 ? kindOf(diff) : 'changed',
      target: 'schema',
      path: `${operation} requestBody`,
      location: 'request',
      breaking: isBreaking(diff, inside, 'request', false),
      detail: inside.length === 0 ? describe(diff, 'request body') : attributeDetail(diff, inside),
    };
  }
  return schemaChange(diff, `${operation} requestBody`, inside.slice(3), 'request');
}

function responseChange(diff: Diff, operation: string, inside: JsonPath): ContractChange {
  const [status, part, name, ...more] = inside;
  const prefix = `${operation} responses.${String(status)}`;
  if (part === undefined) {
    return {
      kind: kindOf(diff),
      target: 'response',
      path: prefix,
      location: 'response',
      breaking: diff.type === 'breaking',
      detail: describe(diff, `response ${String(status)}`),
    };
  }
  if (part === 'headers') {
    const whole = more.length === 0;
    return {
      kind: whole ? kindOf(diff) : 'changed',
      target: 'header',
      path: name === undefined ? `${prefix}.headers` : `${prefix}.headers.${String(name)}`,
      location: 'response',
      breaking: isBreaking(diff, more, 'response', false),
      detail: whole
        ? describe(diff, `header ${String(name ?? '')}`.trim())
        : attributeDetail(diff, more),
    };
  }
  if (part === 'content' && more[0] === 'schema') {
    return schemaChange(diff, prefix, more.slice(1), 'response');
  }
  return {
    kind: 'changed',
    target: 'response',
    path: prefix,
    location: 'response',
    breaking: diff.type === 'breaking',
    detail: attributeDetail(diff, inside.slice(1)),
  };
}

/** A change inside a body schema: the field it is about (`lines[].quantity`) and what changed about it. */
function schemaChange(
  diff: Diff,
  prefix: string,
  schemaPath: JsonPath,
  location: 'request' | 'response',
): ContractChange {
  const fields: string[] = [];
  let at = 0;
  while (at < schemaPath.length) {
    const segment = schemaPath[at];
    if (segment === 'properties' && at + 1 < schemaPath.length) {
      fields.push(`.${String(schemaPath[at + 1])}`);
      at += 2;
    } else if (segment === 'items') {
      fields.push('[]');
      at += 1;
    } else if (segment === 'additionalProperties') {
      fields.push('{}');
      at += 1;
    } else if (
      (segment === 'allOf' || segment === 'oneOf' || segment === 'anyOf') &&
      typeof schemaPath[at + 1] === 'number'
    ) {
      at += 2;
    } else {
      break;
    }
  }
  const attribute = schemaPath.slice(at);
  // `required: [..., "currency"]` is about the field it names.
  if (attribute[0] === 'required' && attribute.length <= 2) {
    const named = [diff.before, diff.after].find((value) => typeof value === 'string');
    if (typeof named === 'string') fields.push(`.${named}`);
  }
  const field = fields.join('');
  const whole = attribute.length === 0;
  const fieldGone = whole && diff.action === 'remove' && field !== '';
  return {
    kind: whole ? kindOf(diff) : 'changed',
    target: field === '' ? 'schema' : 'field',
    path: `${prefix}${field}`,
    location,
    breaking: isBreaking(diff, attribute, location, fieldGone),
    detail: whole
      ? describe(diff, field === '' ? `${location} body` : `field ${field.slice(1)}`)
      : attributeDetail(diff, attribute),
  };
}

function isBreaking(
  diff: Diff,
  attribute: JsonPath,
  location: 'request' | 'response',
  fieldGone: boolean,
): boolean {
  if (location === 'response' && isLooseningOfAnswer(diff, attribute[0])) return false;
  if (diff.type === 'breaking') return true;
  if (attribute.at(-1) === 'type' || (attribute[0] === 'type' && attribute.length <= 2)) {
    return diff.action !== 'rename';
  }
  return location === 'response' && fieldGone;
}

/**
 * Two response changes api-smart-diff calls breaking that we report without gating. A new enum value
 * in an answer, as buf judges enums for the protobuf contracts. A response field that is no longer
 * required: where one document describes several versions, a field only one version sends becomes
 * optional in it although every answer of that version still carries it (a removed field stays breaking).
 */
function isLooseningOfAnswer(diff: Diff, keyword: string | number | undefined): boolean {
  return (
    (keyword === 'enum' && diff.action === 'add') ||
    (keyword === 'required' && diff.action === 'remove')
  );
}

function kindOf(diff: Diff): ContractChangeKind {
  return diff.action === 'add' ? 'added' : diff.action === 'remove' ? 'removed' : 'changed';
}

function describe(diff: Diff, what: string): string {
  const verb = diff.action === 'add' ? 'added' : diff.action === 'remove' ? 'removed' : 'changed';
  const required =
    diff.action === 'add' && (diff.after as { required?: unknown } | undefined)?.required === true
      ? ' (required)'
      : '';
  return `${what} ${verb}${required}`;
}

function attributeDetail(diff: Diff, attribute: JsonPath): string {
  const name = attribute.filter((segment) => typeof segment === 'string').join('.');
  const [keyword] = attribute;
  if (keyword === 'required') {
    const field = [diff.before, diff.after].find((value) => typeof value === 'string');
    if (field !== undefined) {
      return diff.action === 'add'
        ? `${String(field)} is now required`
        : `${String(field)} is no longer required`;
    }
    if (typeof diff.after === 'boolean') return diff.after ? 'now required' : 'no longer required';
  }
  if (keyword === 'enum') {
    if (diff.action === 'add') return `enum value ${show(diff.after)} added`;
    if (diff.action === 'remove') return `enum value ${show(diff.before)} removed`;
  }
  if (diff.action === 'add') return `${name} added: ${show(diff.after)}`;
  if (diff.action === 'remove') return `${name} removed (was ${show(diff.before)})`;
  return `${name} changed from ${show(diff.before)} to ${show(diff.after)}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Follows a JSON path through a document, resolving local `$ref`s on the way. */
function readPointer(document: object, path: JsonPath): unknown {
  let node: unknown = document;
  for (const segment of path) {
    node = resolveRef(document, node);
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return resolveRef(document, node);
}

function resolveRef(document: object, node: unknown): unknown {
  for (let hops = 0; hops < 16; hops++) {
    const ref = (node as { $ref?: unknown } | null)?.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
    node = ref
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>(
        (at, part) =>
          at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined,
        document,
      );
  }
  return node;
}
