import { orderlyClient } from '@orderly/client';
import { createRpcClient, type RpcClientOptions } from '@orderly/platform';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { e2eAdmin, logIn, placeOrder, withConcurrency } from './system-harness.js';

/** The products an end-to-end run sells: one with plenty of stock, one that runs out. */
export const plenty = { sku: 'E2E-PLENTY', name: 'Plenty', priceCents: 1250n, stock: 100_000 };
export const scarce = { sku: 'E2E-SCARCE', name: 'Scarce', priceCents: 990n, stock: 30 };

/** Straight through the inventory RPC, as the operator (`identity`: the operator's service token). */
export async function createCatalog(
  inventoryUrl: string,
  identity: RpcClientOptions['identity'],
): Promise<Record<string, number>> {
  const inventory = createRpcClient(InventoryService, {
    baseUrl: inventoryUrl,
    defaultTimeoutMs: 10_000,
    identity,
  });
  for (const product of [plenty, scarce]) {
    await inventory.upsertProduct({
      sku: product.sku,
      name: product.name,
      priceCents: product.priceCents,
    });
    await inventory.adjustStock({ sku: product.sku, delta: product.stock });
  }
  return { [plenty.sku]: plenty.stock, [scarce.sku]: scarce.stock };
}

/**
 * The same catalog set up as an operator would: logged in as the bootstrap admin, through the
 * gateway's admin routes (POST /v1/admin/products and /v1/admin/stock).
 */
export async function createCatalogAsAdmin(
  gatewayUrl: string,
  admin: { email: string; password: string } = e2eAdmin,
): Promise<Record<string, number>> {
  const token = await logIn(gatewayUrl, admin);
  const api = orderlyClient({ baseUrl: gatewayUrl, token: () => token });
  const check = ({ response, error }: { response: Response; error?: unknown }, what: string) => {
    if (response.status !== 200)
      throw new Error(`${what} answered ${response.status} ${JSON.stringify(error)}`);
  };
  const signal = () => AbortSignal.timeout(15_000);
  for (const product of [plenty, scarce]) {
    const { sku, name } = product;
    const priceCents = Number(product.priceCents);
    check(
      await api.POST('/v1/admin/products', { body: { sku, name, priceCents }, signal: signal() }),
      '/v1/admin/products',
    );
    check(
      await api.POST('/v1/admin/stock', {
        body: { sku, delta: product.stock },
        signal: signal(),
      }),
      '/v1/admin/stock',
    );
  }
  return { [plenty.sku]: plenty.stock, [scarce.sku]: scarce.stock };
}

/**
 * Places `count` orders: 3 in 5 pay and are in stock, 1 in 5 is declined, 1 in 5 asks for the scarce
 * product (most of those run out of stock). Returns the ids of the accepted (202) orders.
 */
export async function placeOrderMix(
  gatewayUrl: string,
  count: number,
  concurrency: number,
  onPlaced?: (i: number) => void | Promise<void>,
): Promise<{ accepted: string[]; rejected: { status: number; error?: unknown }[] }> {
  const results = await withConcurrency(count, concurrency, async (i) => {
    const kind = i % 5;
    const body =
      kind === 3
        ? { lines: [{ sku: plenty.sku, quantity: 1 }], paymentMethod: 'pm_card_declined' }
        : kind === 4
          ? { lines: [{ sku: scarce.sku, quantity: 2 }], paymentMethod: 'pm_card_ok' }
          : {
              lines: [
                { sku: plenty.sku, quantity: 1 + (i % 3) },
                { sku: scarce.sku, quantity: 1 },
              ].slice(0, i % 7 === 0 ? 2 : 1),
              paymentMethod: 'pm_card_ok',
            };
    const result = await placeOrder(gatewayUrl, `customer-${i % 17}`, body);
    await onPlaced?.(i);
    return result;
  });
  return {
    accepted: results.filter((r) => r.status === 202 && r.orderId).map((r) => r.orderId as string),
    rejected: results.filter((r) => r.status !== 202),
  };
}
