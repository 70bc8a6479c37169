import ts from 'typescript';
import type { Origin } from './origins.ts';

export type OutboundKind = 'http' | 'rpc';

/** What a call is, when it leaves the process. */
export interface OutboundCall {
  kind: OutboundKind;
  /** The library that makes the call: `fetch`, `axios`, `node:http`, `@connectrpc/connect`, ... */
  library: string;
  /** The HTTP method when the call makes it visible (`axios.post`, `{ method: 'POST' }`). */
  method?: string;
  /** Where the target is named: the URL argument, the client's base URL, or the service descriptor. */
  targetNode?: ts.Node;
  /** The instance the call is made on (for a base URL or a descriptor). */
  created?: ts.CallExpression | ts.NewExpression;
  typeArguments?: readonly ts.TypeNode[];
}

const fetchModules = new Set([
  'node-fetch',
  'cross-fetch',
  'isomorphic-fetch',
  'isomorphic-unfetch',
  'make-fetch-happen',
  'ofetch',
  'undici',
]);
/** Packages whose every call sends a request, except these builder/config members. */
const clientModules = new Set([
  'axios',
  'got',
  'ky',
  'ky-universal',
  'superagent',
  'needle',
  'request',
  'request-promise',
  'request-promise-native',
  'phin',
  'bent',
  'wretch',
  'ofetch',
]);
const nonRequestMembers = new Set([
  'create',
  'extend',
  'defaults',
  'interceptors',
  'use',
  'isAxiosError',
  'isCancel',
  'CancelToken',
  'mergeConfig',
  'getUri',
  'jar',
  'cookie',
  'HTTPError',
  'TimeoutError',
  'Agent',
  'agent',
  'set',
  'then',
  'catch',
  'on',
  'once',
  'pipe',
  'toString',
]);
const clientTypes = new Set([
  'AxiosInstance',
  'AxiosStatic',
  'Got',
  'KyInstance',
  'SuperAgentStatic',
  'SuperAgent',
  'RequestAPI',
  'Request',
]);
const httpMethods = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);
const connectFactories = new Set(['createClient', 'createPromiseClient', 'createCallbackClient']);
const grpcModules = new Set(['@grpc/grpc-js', 'grpc', 'nice-grpc', '@grpc/proto-loader']);
const nonRpcMembers = new Set([
  'close',
  'waitForReady',
  'getChannel',
  'then',
  'catch',
  'toString',
  'on',
]);

/**
 * Classifies a call by the origin of its callee. `callee` is the origin of `call.expression`;
 * its last path step is the member called.
 */
export function classifyOutbound(
  call: ts.CallExpression,
  callee: Origin,
): OutboundCall | undefined {
  const { module, path } = callee;
  const last = path.at(-1);
  const first = call.arguments[0];
  const withUrl = (library: string, method?: string): OutboundCall => ({
    kind: 'http',
    library,
    ...(method ? { method } : {}),
    ...(first ? { targetNode: first } : {}),
    ...(callee.created ? { created: callee.created } : {}),
  });
  if (module === '(global)') {
    return path.length === 1 && last === 'fetch'
      ? withUrl('fetch', methodOption(call.arguments[1]))
      : undefined;
  }
  if (module === 'node:http' || module === 'node:https') {
    const members = path.filter((step) => step !== 'default');
    if (members.length === 1 && (last === 'request' || last === 'get'))
      return withUrl(module, last === 'get' ? 'GET' : methodOption(first));
    return undefined;
  }
  if (module === 'node:http2') {
    return path.includes('connect') && last === 'request'
      ? { kind: 'http', library: module, ...(callee.created ? { created: callee.created } : {}) }
      : undefined;
  }
  if (path.includes('interceptors')) return undefined;
  if (fetchModules.has(module)) {
    const members = path.filter((step) => step !== 'default');
    if (module === 'undici') {
      if (last && ['request', 'fetch', 'stream', 'pipeline'].includes(last))
        return withUrl(module, methodOption(call.arguments[1]));
      return undefined;
    }
    if (members.length === 0 || (members.length === 1 && last === 'fetch'))
      return withUrl(module, methodOption(call.arguments[1]));
    if (module !== 'ofetch') return undefined;
  }
  if (clientModules.has(module)) {
    if (last !== undefined && nonRequestMembers.has(last)) return undefined;
    // Known by its declared type: only the client types send requests (an AxiosError's toJSON does not).
    if (path[0] === '<instance>' && !clientTypes.has(path[1] ?? '')) return undefined;
    if (path[0] === '<instance>' && path.length === 3 && !isRequestMember(last)) return undefined;
    const method =
      last && httpMethods.has(last.toLowerCase()) ? last.toUpperCase() : methodOption(first);
    return withUrl(module, method);
  }
  if (module === '@connectrpc/connect' || module === '@bufbuild/connect') {
    const factoryCall = path.findIndex((step, index) => {
      return connectFactories.has(step) && path[index + 1] === '()';
    });
    const isClientType =
      path[0] === '<instance>' &&
      ['Client', 'PromiseClient', 'CallbackClient'].includes(path[1] ?? '');
    const methodIndex = factoryCall >= 0 ? factoryCall + 2 : isClientType ? 2 : -1;
    if (methodIndex < 0 || path.length !== methodIndex + 1 || !last || nonRpcMembers.has(last))
      return undefined;
    const rpc: OutboundCall = { kind: 'rpc', library: module, method: last };
    if (callee.created) rpc.created = callee.created;
    if (callee.typeArguments) rpc.typeArguments = callee.typeArguments;
    return rpc;
  }
  if (grpcModules.has(module)) {
    const constructed = path.lastIndexOf('new');
    const isClientType = path[0] === '<instance>' && /Client$/.test(path[1] ?? '');
    if (
      (constructed >= 0 && constructed === path.length - 2) ||
      (isClientType && path.length === 3)
    ) {
      if (!last || nonRpcMembers.has(last)) return undefined;
      return {
        kind: 'rpc',
        library: module,
        method: last,
        ...(callee.created ? { created: callee.created } : {}),
      };
    }
  }
  return undefined;
}

function isRequestMember(member: string | undefined): boolean {
  return member !== undefined && (httpMethods.has(member.toLowerCase()) || member === 'request');
}

/** `{ method: 'POST' }` in a fetch init or request options. */
export function methodOption(node: ts.Node | undefined): string | undefined {
  if (!node || !ts.isObjectLiteralExpression(node)) return undefined;
  for (const property of node.properties) {
    if (
      ts.isPropertyAssignment(property) &&
      ts.isIdentifier(property.name) &&
      property.name.text === 'method' &&
      ts.isStringLiteralLike(property.initializer)
    ) {
      return property.initializer.text.toUpperCase();
    }
  }
  return undefined;
}
