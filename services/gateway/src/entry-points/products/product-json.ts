import type { Product } from '@orderly/inventory-contract/inventory_service';
import { cents, money, type MoneyJson } from '../http/money-json.js';

/** Proto ↔ public JSON of a product: version 1 (price in cents) or 2 (price as money). */
export interface ProductJson {
  sku: string;
  name: string;
  priceCents: number;
  available: number;
}

export interface ProductJsonV2 {
  sku: string;
  name: string;
  price: MoneyJson;
  available: number;
}

export function productToJson(product: Product): ProductJson {
  return {
    sku: product.sku,
    name: product.name,
    priceCents: cents(product.priceCents),
    available: product.available,
  };
}

export function productToJsonV2(product: Product): ProductJsonV2 {
  return {
    sku: product.sku,
    name: product.name,
    price: money(product.priceCents, product.currency),
    available: product.available,
  };
}

/** The product in the contract version the request is served in. */
export function productToJsonIn(
  version: string,
): (product: Product) => ProductJson | ProductJsonV2 {
  return version === '2' ? productToJsonV2 : productToJson;
}
