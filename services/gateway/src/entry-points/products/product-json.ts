import type { Product } from '@orderly/inventory-contract/inventory_service';
import { cents } from '../http/money-json.js';

/** Proto ↔ public JSON of a product. */
export interface ProductJson {
  sku: string;
  name: string;
  priceCents: number;
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
