import type { Sql } from '@orderly/platform';
import type { ProductPage } from '../domain/inventory-store.js';
import type { Product, ProductInput, StockMovement } from '../domain/product.js';

/** SQL for the catalog and its stock counters. */

interface ProductRow {
  sku: string;
  name: string;
  /** `bigint` arrives from pg as a string. */
  price_cents: string;
  currency: string;
  available: number;
  reserved: number;
  sold: number;
}

const columns = 'sku, name, price_cents, currency, available, reserved, sold';

function toProduct(row: ProductRow): Product {
  return {
    sku: row.sku,
    name: row.name,
    priceCents: BigInt(row.price_cents),
    currency: row.currency,
    available: row.available,
    reserved: row.reserved,
    sold: row.sold,
  };
}

/**
 * A page of the catalog in SKU order after `after`: one more row than `limit` is read to know
 * whether a next page exists. Keyset on the primary key (its index serves both the comparison and
 * the order, in the database's collation): products added while a client pages never repeat or
 * shift the pages that follow.
 */
export async function listProducts(
  sql: Sql,
  after: string | undefined,
  limit: number,
): Promise<ProductPage> {
  const { rows } = await sql.query<ProductRow>(
    after === undefined
      ? `SELECT ${columns} FROM products ORDER BY sku LIMIT $1`
      : `SELECT ${columns} FROM products WHERE sku > $2 ORDER BY sku LIMIT $1`,
    after === undefined ? [limit + 1] : [limit + 1, after],
  );
  const products = rows.slice(0, limit).map(toProduct);
  return {
    products,
    nextAfter: rows.length > limit ? products.at(-1)?.sku : undefined,
  };
}

/** Creates the product with no stock, or renames/reprices it keeping its stock. */
export async function upsertProduct(sql: Sql, input: ProductInput, now: Date): Promise<Product> {
  const { rows } = await sql.query<ProductRow>(
    `INSERT INTO products (sku, name, price_cents, currency, updated_at)
     VALUES ($1, $2, $3, COALESCE($5, 'EUR'), $4)
     ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents,
       currency = COALESCE($5, products.currency), updated_at = EXCLUDED.updated_at
     RETURNING ${columns}`,
    [input.sku, input.name, input.priceCents.toString(), now, input.currency ?? null],
  );
  return toProduct(rows[0]!);
}

/**
 * Locks the products with these SKUs in one statement, always in SKU order (byte order,
 * `COLLATE "C"`, whatever the database's collation) so that concurrent transactions never deadlock
 * (see "lock order" in reservation-repository.ts), and returns those that exist.
 */
export async function lockProducts(
  sql: Sql,
  skus: readonly string[],
): Promise<Map<string, Product>> {
  if (skus.length === 0) return new Map();
  const { rows } = await sql.query<ProductRow>(
    `SELECT ${columns} FROM products WHERE sku = ANY($1::text[]) ORDER BY sku COLLATE "C" FOR UPDATE`,
    [[...new Set(skus)]],
  );
  return new Map(rows.map((row) => [row.sku, toProduct(row)]));
}

/** Sets the available stock after an operator's adjustment and records it in the stock ledger. */
export async function recordStockAdjustment(
  sql: Sql,
  adjustment: { sku: string; delta: number; available: number },
  now: Date,
): Promise<Product> {
  const { rows } = await sql.query<ProductRow>(
    `UPDATE products SET available = $2, updated_at = $3 WHERE sku = $1 RETURNING ${columns}`,
    [adjustment.sku, adjustment.available, now],
  );
  await sql.query(
    `INSERT INTO stock_adjustments (sku, delta, reason, at) VALUES ($1, $2, 'ADJUSTMENT', $3)`,
    [adjustment.sku, adjustment.delta, now],
  );
  return toProduct(rows[0]!);
}

/**
 * Applies stock movements with one statement (several for one SKU are added up) to rows the caller
 * has locked (`lockProducts`); the CHECK constraints refuse any counter going below zero.
 */
export async function applyStockMovements(
  sql: Sql,
  movements: readonly StockMovement[],
  now: Date,
): Promise<void> {
  const bySku = new Map<string, { available: number; reserved: number; sold: number }>();
  for (const m of movements) {
    const total = bySku.get(m.sku) ?? { available: 0, reserved: 0, sold: 0 };
    bySku.set(m.sku, {
      available: total.available + m.available,
      reserved: total.reserved + m.reserved,
      sold: total.sold + m.sold,
    });
  }
  if (bySku.size === 0) return;
  const skus = [...bySku.keys()].sort();
  const totals = skus.map((sku) => bySku.get(sku)!);
  await sql.query(
    `UPDATE products p
        SET available = p.available + m.available, reserved = p.reserved + m.reserved,
            sold = p.sold + m.sold, updated_at = $5
       FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS m (sku, available, reserved, sold)
      WHERE p.sku = m.sku`,
    [
      skus,
      totals.map((t) => t.available),
      totals.map((t) => t.reserved),
      totals.map((t) => t.sold),
      now,
    ],
  );
}

/**
 * Inserts the catalog if no product exists yet, recording each initial stock in the ledger.
 * Safe when several replicas start together: the table lock serialises them and the second
 * finds the catalog present. Returns how many products were inserted.
 */
export async function seedCatalogIfEmpty(
  sql: Sql,
  catalog: readonly { sku: string; name: string; priceCents: bigint; initialStock: number }[],
  now: Date,
): Promise<number> {
  await sql.query('LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE');
  const { rowCount: existing } = await sql.query('SELECT 1 FROM products LIMIT 1');
  if (existing > 0) return 0;
  const { rows } = await sql.query<{ sku: string; available: number }>(
    `INSERT INTO products (sku, name, price_cents, available, updated_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::timestamptz[])
     ON CONFLICT (sku) DO NOTHING
     RETURNING sku, available`,
    [
      catalog.map((p) => p.sku),
      catalog.map((p) => p.name),
      catalog.map((p) => p.priceCents.toString()),
      catalog.map((p) => p.initialStock),
      catalog.map(() => now),
    ],
  );
  const stocked = rows.filter((row) => row.available !== 0);
  if (stocked.length > 0) {
    await sql.query(
      `INSERT INTO stock_adjustments (sku, delta, reason, at)
       SELECT sku, delta, 'SEED', $3 FROM unnest($1::text[], $2::int[]) AS s (sku, delta)`,
      [stocked.map((row) => row.sku), stocked.map((row) => row.available), now],
    );
  }
  return rows.length;
}
