import { create, type DescService } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { createRpcClient, errorCodeHeader, type RpcClientOptions } from '../rpc/index.js';

/** How one call ended: `ok`, or the Connect code (`unauthenticated`) and the stable AppError code. */
export interface CallOutcome {
  readonly code: string;
  readonly errorCode?: string;
}

export async function callOutcome(call: Promise<unknown>): Promise<CallOutcome> {
  try {
    await call;
    return { code: 'ok' };
  } catch (error) {
    const connectError = ConnectError.from(error);
    const code = Code[connectError.code].replace(
      /[A-Z]/g,
      (c, i: number) => (i > 0 ? '_' : '') + c.toLowerCase(),
    );
    return { code, errorCode: connectError.metadata.get(errorCodeHeader) ?? undefined };
  }
}

/**
 * Calls every unary method of `service` at `baseUrl` once with an empty request, as `identity`'s
 * caller (none: without a service token). The outcome of each, by method name (`PlaceOrder`).
 */
export async function callEveryMethod(
  service: DescService,
  baseUrl: string,
  identity?: RpcClientOptions['identity'],
): Promise<Record<string, CallOutcome>> {
  const client = createRpcClient(service, {
    baseUrl,
    defaultTimeoutMs: 5000,
    ...(identity ? { identity } : {}),
  }) as unknown as Record<string, (request: unknown) => Promise<unknown>>;
  const outcomes: Record<string, CallOutcome> = {};
  for (const method of service.methods) {
    outcomes[method.name] = await callOutcome(client[method.localName]!(create(method.input)));
  }
  return outcomes;
}
