import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { summarizeStatement } from '../src/db/statement-summary.js';

/**
 * A statement span is named by what the statement does — its operations and tables, as the
 * semantic conventions' `db.query.summary` — read from keywords and identifiers only, so no value
 * in the text can reach a span.
 */
describe('statement summary', () => {
  test.each(
    [
      ['INSERT INTO orders (id, customer_id) VALUES ($1, $2)', 'INSERT orders', 'INSERT', 'orders'],
      [
        'SELECT id, user_id FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
        'SELECT refresh_tokens',
        'SELECT',
        'refresh_tokens',
      ],
      [
        'INSERT INTO products (sku) VALUES ($1) ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name',
        'INSERT products',
        'INSERT',
        'products',
      ],
      [
        `UPDATE products p SET available = p.available + m.available
         FROM unnest($1::text[], $2::int[]) AS m (sku, available) WHERE p.sku = m.sku`,
        'UPDATE products',
        'UPDATE',
        'products',
      ],
      [
        `WITH changed AS (SELECT * FROM unnest($1::uuid[]) AS c(id)),
            updated AS (UPDATE orders o SET status = 'X' FROM changed c WHERE o.id = c.id RETURNING o.id)
       INSERT INTO order_status_history (order_id) SELECT id FROM updated`,
        'UPDATE orders INSERT order_status_history',
        'UPDATE',
        'orders',
      ],
      [
        `SELECT o.id, (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id)
         FROM orders o JOIN customers c ON c.id = o.customer_id`,
        'SELECT orders customers SELECT order_lines',
        'SELECT',
        'orders',
      ],
      ['DELETE FROM inbox WHERE received_at < $1', 'DELETE inbox', 'DELETE', 'inbox'],
      ['BEGIN; SET LOCAL statement_timeout = 50', 'BEGIN; SET', 'BEGIN', undefined],
      [
        "BEGIN; INSERT INTO inbox (event_id) VALUES ('e-1')",
        'BEGIN; INSERT inbox',
        'INSERT',
        'inbox',
      ],
      ['COMMIT', 'COMMIT', 'COMMIT', undefined],
      ['SELECT pg_cancel_backend($1)', 'SELECT', 'SELECT', undefined],
      ['SELECT extract(epoch FROM now())', 'SELECT', 'SELECT', undefined],
      [
        'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY)',
        'CREATE schema_migrations',
        'CREATE',
        'schema_migrations',
      ],
      [
        'SELECT * FROM "Sales"."Orders" -- FROM comment',
        'SELECT Sales.Orders',
        'SELECT',
        'Sales.Orders',
      ],
    ].map(([sql, summary, operation, collection]) => ({ sql, summary, operation, collection })),
  )(
    'when the statement does $summary, then its summary says so',
    ({ sql, summary, operation, collection }) => {
      expect(summarizeStatement(sql!)).toEqual({ summary, operation, collection });
    },
  );

  test('when a statement carries literal values of any kind, then none reaches the summary', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9_ ,.();'-]{1,30}$/).map((v) => `v4lue${v}`);
    const literal = fc.oneof(
      value.map((v) => `'${v.replace(/'/g, "''")}'`),
      value.map((v) => `E'${v.replace(/'/g, "''")}'`),
      // Dollar-quoted bodies cannot contain their closing tag (values here have no $), as in PostgreSQL.
      value.map((v) => `$tag$ FROM ${v} $tag$`),
      value.map((v) => `$$${v}$$`),
    );
    fc.assert(
      fc.property(literal, literal, (a, b) => {
        const { summary, collection } = summarizeStatement(
          `INSERT INTO t (a, b) VALUES (${a}, ${b}); SELECT ${a} FROM u WHERE x = ${b} /* ${a} */ -- ${b}`,
        );
        expect(summary).toBe('INSERT t; SELECT u');
        expect(`${summary} ${collection ?? ''}`).not.toContain('v4lue');
      }),
    );
  });
});
