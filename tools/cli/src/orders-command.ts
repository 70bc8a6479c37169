import { toJson } from '@bufbuild/protobuf';
import { OrderSchema, OrderService, OrderStatus } from '@orderly/order-contract/order_service';
import {
  createRpcClient,
  fromRpcError,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { getOrderCommand } from './commands.js';

/**
 * `orderly orders get <orderId>`: any customer's order, through GetOrderForOperator as the operator
 * workload (the customer-facing GetOrder needs the customer's id).
 */
export async function runOrdersCommand(
  command: string | undefined,
  argv: readonly string[],
  io: CommandIo,
): Promise<number> {
  const spec = getOrderCommand;
  if (command !== 'get') return usageFailure(spec, `unknown command '${command ?? ''}'`, io);
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const orderId = args.positionals[0]!;
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: args.configArgv }).document,
  );
  const order = platform.services.order as { host?: unknown; port?: unknown } | undefined;
  const baseUrl = args.values.url ?? `http://${String(order?.host)}:${String(order?.port)}`;
  const client = createRpcClient(OrderService, {
    baseUrl,
    defaultTimeoutMs: platform.rpc.defaultTimeoutMs,
    identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'order' },
  });
  try {
    const found = (await client.getOrderForOperator({ orderId })).order;
    if (!found) throw new Error(`order ${orderId}: empty answer`);
    if (args.values.json) io.out(`${JSON.stringify(toJson(OrderSchema, found))}\n`);
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
