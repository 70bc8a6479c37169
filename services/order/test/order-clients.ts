import type { Client } from '@connectrpc/connect';
import { createRpcClient } from '@orderly/platform';
import { testCaller } from '@orderly/platform/testing';
import { OrderService } from '@orderly/order-contract/order_service';

/** An order service client calling as `caller` (the gateway, or the operator), as the allowlist expects. */
export async function orderClientAs(
  caller: 'gateway' | 'operator',
  baseUrl: string,
): Promise<Client<typeof OrderService>> {
  return createRpcClient(OrderService, {
    baseUrl,
    defaultTimeoutMs: 5000,
    identity: await testCaller(caller, 'order'),
  });
}
