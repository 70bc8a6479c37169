/**
 * The demo catalog inserted at start when `seedDemoCatalog` is on and the catalog is empty.
 * SKU-GRINDER has little stock on purpose, so a demo can show an order rejected as OUT_OF_STOCK.
 */
export interface DemoProduct {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: bigint;
  readonly initialStock: number;
}

export const demoCatalog: readonly DemoProduct[] = [
  {
    sku: 'SKU-COFFEE',
    name: 'House blend coffee beans, 1 kg',
    priceCents: 2490n,
    initialStock: 1000,
  },
  { sku: 'SKU-MUG', name: 'Stoneware mug', priceCents: 1200n, initialStock: 1000 },
  { sku: 'SKU-TEA', name: 'Green tea, 100 g', priceCents: 890n, initialStock: 1000 },
  { sku: 'SKU-KETTLE', name: 'Gooseneck kettle', priceCents: 5900n, initialStock: 1000 },
  { sku: 'SKU-FILTER', name: 'Paper filters, 100 pack', priceCents: 450n, initialStock: 1000 },
  { sku: 'SKU-GRINDER', name: 'Burr grinder', priceCents: 12900n, initialStock: 5 },
];
