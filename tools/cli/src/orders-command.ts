import { toJson } from '@bufbuild/protobuf';
import { OrderSchema, OrderService, OrderStatus } from '@orderly/order/contract/order_service';
import {
  createRpcClient,
  fromRpcError,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';

/**
 * `orderly orders get <orderId>`: any customer's order, through GetOrderForOperator as the operator
 * workload (the customer-facing GetOrder needs the customer's id).
 */
export const ordersUsage = `  orderly orders get <orderId>  [--config file] [--url order-url] [--json]`;

export async function runOrdersCommand(
  command: string | undefined,
  args: readonly string[],
  io: { out(text: string): void; err(text: string): void },
): Promise<number> {
  const orderId = args[0];
  if (command !== 'get' || !orderId || orderId.startsWith('--')) {
    io.err(`usage:\n${ordersUsage}\n`);
    return 2;
  }
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: args }).document,
  );
  const order = platform.services.order as { host?: unknown; port?: unknown } | undefined;
  const urlIndex = args.indexOf('--url');
  const baseUrl =
    (urlIndex >= 0 ? args[urlIndex + 1] : undefined) ??
    `http://${String(order?.host)}:${String(order?.port)}`;
  const client = createRpcClient(OrderService, {
    baseUrl,
    defaultTimeoutMs: platform.rpc.defaultTimeoutMs,
    identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'order' },
  });
  try {
    const found = (await client.getOrderForOperator({ orderId })).order;
    if (!found) throw new Error(`order ${orderId}: empty answer`);
    if (args.includes('--json')) io.out(`${JSON.stringify(toJson(OrderSchema, found))}\n`);
    else
      io.out(
        `${found.orderId}\tcustomer ${found.customerId}\t${OrderStatus[found.status]}\ttotal ${found.totalCents} cents\t${found.lines.length} line(s)\n`,
      );
    return 0;
  } catch (error) {
    const appError = fromRpcError(error, `order at ${baseUrl}`);
    io.err(`orderly orders get: ${appError.code} ${appError.message}\n`);
    return 1;
  }
}
