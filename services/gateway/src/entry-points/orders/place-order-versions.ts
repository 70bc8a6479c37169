import { contractVersionMismatch, mixedCurrencies } from '../http/contract-versions.js';
import type { PlaceOrderBody } from './order-json.js';

/**
 * The place-order body of each public API version (docs/contracts.md):
 *
 *   version 1: { "lines": [{ "sku", "quantity" }], "paymentMethod" }
 *   version 2: { "currency": "EUR", "lines": [{ "sku", "quantity", "unitPrice"?: Money }], "paymentMethod" }
 *
 * One JSON schema accepts both; this says which fields belong to which version, so a body sent
 * under the wrong X-Contract-Version is a 400 naming the field, not an order placed in a currency
 * the client did not mean. Returns the order's currency ('' in version 1: the catalog's).
 */
export function assertBodyMatchesVersion(body: PlaceOrderBody, version: string): string {
  const pricedLine = body.lines.findIndex((line) => line.unitPrice !== undefined);
  if (version !== '2') {
    if (body.currency !== undefined)
      throw contractVersionMismatch(
        `body/currency belongs to contract version 2, but this request is served as version ${version}: send X-Contract-Version: 2, or leave currency out`,
      );
    if (pricedLine >= 0)
      throw contractVersionMismatch(
        `body/lines/${pricedLine}/unitPrice belongs to contract version 2, but this request is served as version ${version}: send X-Contract-Version: 2, or leave unitPrice out`,
      );
    return '';
  }
  if (body.currency === undefined)
    throw contractVersionMismatch(
      'body/currency is required in contract version 2 (a version 1 body has none): add currency, or send X-Contract-Version: 1',
    );
  const foreign = body.lines.findIndex(
    (line) => line.unitPrice !== undefined && line.unitPrice.currency !== body.currency,
  );
  if (foreign >= 0)
    throw mixedCurrencies(
      `body/lines/${foreign}/unitPrice is in ${body.lines[foreign]!.unitPrice!.currency}, the order in ${body.currency}: one order is paid in one currency`,
    );
  return body.currency;
}
