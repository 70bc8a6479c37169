import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * An offline renderer for the subset of kustomize the Orderly tree uses, so CI renders exactly
 * what `kubectl apply -k` would apply without a kustomize binary: `resources` (files and
 * directories), `namespace`, `configMapGenerator` / `secretGenerator` (files, literals; behavior
 * create, replace, merge) with `generatorOptions.disableNameSuffixHash: true`, and `patches` as
 * JSON 6902 operations with a kind/name target. Anything else in a kustomization is refused.
 */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Generator {
  name: string;
  behavior?: 'create' | 'replace' | 'merge';
  files?: string[];
  literals?: string[];
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  patches?: { target: { kind: string; name: string }; patch?: string; path?: string }[];
}

const supportedKeys = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'generatorOptions',
  'configMapGenerator',
  'secretGenerator',
  'patches',
]);
const clusterScoped = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
]);

export function renderKustomization(dir: string): K8sObject[] {
  const kustomization = parse(
    readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
  ) as Kustomization;
  for (const key of Object.keys(kustomization))
    if (!supportedKeys.has(key))
      throw new Error(`${dir}: kustomization key ${key} is not supported offline`);
  let objects: K8sObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else
      objects.push(
        ...parseAllDocuments(readFileSync(path, 'utf8'))
          .map((d) => d.toJS() as K8sObject)
          .filter(Boolean),
      );
  }
  const hasGenerators =
    (kustomization.configMapGenerator?.length ?? 0) + (kustomization.secretGenerator?.length ?? 0) >
    0;
  if (hasGenerators && kustomization.generatorOptions?.disableNameSuffixHash !== true) {
    throw new Error(
      `${dir}: name suffix hashes are not supported offline (set generatorOptions.disableNameSuffixHash)`,
    );
  }
  for (const generator of kustomization.configMapGenerator ?? [])
    objects = applyGenerator(objects, dir, generator, 'ConfigMap', kustomization.namespace);
  for (const generator of kustomization.secretGenerator ?? [])
    objects = applyGenerator(objects, dir, generator, 'Secret', kustomization.namespace);
  for (const { target, patch, path } of kustomization.patches ?? []) {
    const operations = parse(
      patch ?? readFileSync(join(dir, path ?? ''), 'utf8'),
    ) as PatchOperation[];
    const matches = objects.filter(
      (o) => o.kind === target.kind && o.metadata.name === target.name,
    );
    if (matches.length === 0)
      throw new Error(`${dir}: patch target ${target.kind}/${target.name} not found`);
    for (const object of matches)
      for (const operation of operations) applyOperation(object, operation);
  }
  if (kustomization.namespace) {
    for (const object of objects)
      if (!clusterScoped.has(object.kind)) object.metadata.namespace = kustomization.namespace;
  }
  return objects;
}

function generatedData(dir: string, generator: Generator): Record<string, string> {
  const data: Record<string, string> = {};
  for (const file of generator.files ?? []) {
    const [key, path] = file.includes('=') ? file.split('=', 2) : [basename(file), file];
    const full = join(dir, path ?? '');
    if (!existsSync(full))
      throw new Error(`${dir}: generator ${generator.name} file ${path} does not exist`);
    data[key ?? ''] = readFileSync(full, 'utf8');
  }
  for (const literal of generator.literals ?? []) {
    const equals = literal.indexOf('=');
    data[literal.slice(0, equals)] = literal.slice(equals + 1);
  }
  return data;
}

function applyGenerator(
  objects: K8sObject[],
  dir: string,
  generator: Generator,
  kind: 'ConfigMap' | 'Secret',
  namespace: string | undefined,
): K8sObject[] {
  const data = generatedData(dir, generator);
  const existing = objects.find((o) => o.kind === kind && o.metadata.name === generator.name);
  const behavior = generator.behavior ?? 'create';
  if (behavior === 'create' && existing)
    throw new Error(
      `${dir}: ${kind} ${generator.name} already exists (use behavior replace or merge)`,
    );
  if (behavior !== 'create' && !existing)
    throw new Error(`${dir}: ${kind} ${generator.name} to ${behavior} does not exist`);
  const encoded =
    kind === 'Secret'
      ? Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        )
      : data;
  if (existing) {
    existing.data =
      behavior === 'merge' ? { ...(existing.data as Record<string, string>), ...encoded } : encoded;
    return objects;
  }
  const object: K8sObject = {
    apiVersion: 'v1',
    kind,
    metadata: { name: generator.name, ...(namespace ? { namespace } : {}) },
    data: encoded,
  };
  if (kind === 'Secret') object.type = 'Opaque';
  return [...objects, object];
}

interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

function applyOperation(object: K8sObject, operation: PatchOperation): void {
  const segments = operation.path
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const last = segments.pop();
  if (last === undefined) throw new Error(`patch path ${operation.path} is empty`);
  let parent: unknown = object;
  for (const segment of segments) {
    parent = (parent as Record<string, unknown>)?.[segment];
    if (parent === undefined)
      throw new Error(
        `patch path ${operation.path} does not exist in ${object.kind}/${object.metadata.name}`,
      );
  }
  if (Array.isArray(parent)) {
    const list = parent as unknown[];
    const index = last === '-' ? list.length : Number(last);
    if (operation.op === 'add') list.splice(index, 0, operation.value);
    else if (operation.op === 'replace') list[index] = operation.value;
    else list.splice(index, 1);
    return;
  }
  const record = parent as Record<string, unknown>;
  if (operation.op !== 'add' && !(last in record))
    throw new Error(
      `patch path ${operation.path} does not exist in ${object.kind}/${object.metadata.name}`,
    );
  if (operation.op === 'remove') delete record[last];
  else record[last] = operation.value;
}
