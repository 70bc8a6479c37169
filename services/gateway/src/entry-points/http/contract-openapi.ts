import type { FastifyInstance } from 'fastify';
import { AppError, diffOpenApi } from '@orderly/platform';
import type { ContractConfig } from './contract-versions.js';

/**
 * The OpenAPI documents of the public API versions. The routes' schemas describe both versions at
 * once (a field of one version is optional there); from them:
 * - `/openapi.json`: both, with the `X-Contract-Version` header parameter on every operation and
 *   the response header on every answer (what @orderly/client is generated from);
 * - `/openapi/v1.json`, `/openapi/v2.json`: one version each — the other version's fields removed
 *   from the versioned operations (orders, products), its own always-present fields required;
 * - `/openapi/contract-diff?from=1&to=2`: the changes between two of those, by `diffOpenApi`.
 */

/** Fields only one version has, by name, in the versioned operations' schemas. */
const onlyIn: Readonly<Record<string, ReadonlySet<string>>> = {
  '1': new Set(['totalCents', 'unitPriceCents', 'priceCents']),
  '2': new Set(['total', 'unitPrice', 'price', 'currency']),
};
/** Response fields each version always answers. */
const alwaysAnswered: Readonly<Record<string, ReadonlySet<string>>> = {
  '1': new Set(['totalCents', 'unitPriceCents', 'priceCents']),
  '2': new Set(['price']),
};
/** Request fields each version requires. */
const alwaysSent: Readonly<Record<string, ReadonlySet<string>>> = {
  '1': new Set(),
  '2': new Set(['currency']),
};

const versionedPath = (path: string) =>
  path === '/v1/orders' || path.startsWith('/v1/orders/') || path === '/v1/products';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Removes the fields of other versions from every schema under `node`, requiring `required`. */
function keepVersion(node: unknown, drop: ReadonlySet<string>, required: ReadonlySet<string>) {
  if (Array.isArray(node)) {
    for (const item of node) keepVersion(item, drop, required);
    return;
  }
  if (!isObject(node)) return;
  const properties = node.properties;
  if (isObject(properties)) {
    for (const name of Object.keys(properties)) if (drop.has(name)) delete properties[name];
    const present = Object.keys(properties);
    const listed = Array.isArray(node.required) ? (node.required as string[]) : [];
    const next = [
      ...listed.filter((name) => present.includes(name)),
      ...present.filter((name) => required.has(name) && !listed.includes(name)),
    ];
    if (next.length > 0) node.required = next;
    else delete node.required;
  }
  for (const value of Object.values(node)) keepVersion(value, drop, required);
}

function versionsOf(config: ContractConfig): string[] {
  return Object.keys(config.versions).sort((a, b) => Number(a) - Number(b));
}

function headerParameter(versions: readonly string[], config: ContractConfig) {
  return {
    name: 'X-Contract-Version',
    in: 'header',
    required: false,
    description:
      `The public API version to serve (${versions.join(', ')}); without it, version ` +
      `${config.defaultVersion} (services.gateway.contract.defaultVersion or the flag ` +
      'contract-default-version). Another value is 400 CONTRACT_VERSION_UNSUPPORTED; a retired ' +
      'version is 410 CONTRACT_VERSION_RETIRED on the versioned routes (orders, products).',
    schema: { type: 'string', enum: versions },
  };
}

const servedHeader = {
  description: 'The version this answer was served in.',
  schema: { type: 'string' },
};

/** Adds the request header parameter and the answer header to every operation. */
function withVersionHeaders(document: Json, parameter: Json): Json {
  const paths = isObject(document.paths) ? document.paths : {};
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue;
      const parameters: unknown[] = Array.isArray(operation.parameters)
        ? (operation.parameters as unknown[])
        : [];
      operation.parameters = [...parameters, parameter];
      const responses = isObject(operation.responses) ? operation.responses : {};
      for (const response of Object.values(responses)) {
        if (!isObject(response)) continue;
        response.headers = { ...(isObject(response.headers) ? response.headers : {}) };
        (response.headers as Json)['X-Contract-Version'] = servedHeader;
      }
    }
  }
  return document;
}

/** Both versions in one document (`/openapi.json`). */
export function combinedDocument(swagger: object, config: ContractConfig): Json {
  const document = structuredClone(swagger) as Json;
  return withVersionHeaders(document, headerParameter(versionsOf(config), config));
}

/** One version's document (`/openapi/v<n>.json`). */
export function versionDocument(swagger: object, config: ContractConfig, version: string): Json {
  const document = structuredClone(swagger) as Json;
  const drop = new Set(
    Object.entries(onlyIn)
      .filter(([other]) => other !== version)
      .flatMap(([, fields]) => [...fields])
      .filter((field) => !onlyIn[version]?.has(field)),
  );
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!versionedPath(path) || !isObject(item)) continue;
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue;
      keepVersion(operation.requestBody, drop, alwaysSent[version] ?? new Set());
      keepVersion(operation.responses, drop, alwaysAnswered[version] ?? new Set());
    }
  }
  const info = isObject(document.info) ? document.info : {};
  document.info = {
    ...info,
    title: `${typeof info.title === 'string' ? info.title : 'API'} (contract version ${version})`,
    version: `${version}.0.0`,
  };
  // The same header parameter as every other version's document, so a diff of two shows the
  // API's changes, not this one's enum; which version this is goes into the description.
  const settings = config.versions[version];
  const lifecycle =
    settings && settings.lifecycle !== 'current'
      ? ` It is ${settings.lifecycle}${settings.sunset ? `, sunset ${settings.sunset}` : ''}${settings.successor ? `, successor ${settings.successor}` : ''}.`
      : '';
  (document.info as Json).description =
    `${typeof info.description === 'string' ? `${info.description} ` : ''}This document describes contract version ${version} (send X-Contract-Version: ${version}).${lifecycle}`;
  const parameter = headerParameter(versionsOf(config), config);
  return withVersionHeaders(document, parameter);
}

export const contractDiffVersionInvalid = (name: string, value: unknown, versions: string[]) =>
  new AppError(
    'CONTRACT_DIFF_VERSION_INVALID',
    `query parameter ${name} must be one of the served versions (${versions.join(', ')}), not ${JSON.stringify(value ?? null)}`,
    { kind: 'invalid' },
  );

/** `/openapi.json`, `/openapi/v<n>.json` and `/openapi/contract-diff`, public like the document. */
export function registerContractDocuments(app: FastifyInstance, config: ContractConfig): void {
  const versions = versionsOf(config);
  const open = { schema: { hide: true }, config: { access: 'public' as const } };
  let combined: Json | undefined;
  const perVersion = new Map<string, Json>();
  const documentOf = (version: string) => {
    let document = perVersion.get(version);
    if (!document) {
      document = versionDocument(app.swagger(), config, version);
      perVersion.set(version, document);
    }
    return document;
  };
  app.get('/openapi.json', open, async () => {
    combined ??= combinedDocument(app.swagger(), config);
    return Promise.resolve(combined);
  });
  for (const version of versions)
    app.get(`/openapi/v${version}.json`, open, async () => Promise.resolve(documentOf(version)));
  app.get<{ Querystring: Record<string, unknown> }>(
    '/openapi/contract-diff',
    open,
    async (request) => {
      const pick = (name: 'from' | 'to') => {
        const value = request.query[name];
        if (typeof value !== 'string' || !versions.includes(value))
          throw contractDiffVersionInvalid(name, value, versions);
        return value;
      };
      const from = pick('from');
      const to = pick('to');
      return Promise.resolve(diffOpenApi(documentOf(from), documentOf(to), { from, to }));
    },
  );
}
