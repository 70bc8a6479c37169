import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import { announce, idempotencyHeadersSchema, placeOrderBodySchema } from './order-schema.js';

/**
 * The obvious design, as the baseline: Fastify validates the body, then one transaction per order
 * of four round trips — BEGIN, INSERT the order, INSERT its outbox row, COMMIT — on a pg pool,
 * with PostgreSQL's default durability (synchronous_commit on). 202 after the commit.
 */
const databaseUrl = process.env.BENCH_BASELINE_DATABASE_URL ?? '';
const limits = {
  maxLinesPerOrder: Number(process.env.BENCH_MAX_LINES),
  maxQuantityPerLine: Number(process.env.BENCH_MAX_QUANTITY),
};
const pool = new pg.Pool({
  connectionString: databaseUrl,
  max: Number(process.env.BENCH_BASELINE_POOL_SIZE),
});

await pool.query(`
  CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY, customer_id text NOT NULL, idempotency_key text NOT NULL,
    status text NOT NULL, lines jsonb NOT NULL, payment_method text NOT NULL,
    placed_at timestamptz NOT NULL, UNIQUE (customer_id, idempotency_key));
  CREATE TABLE IF NOT EXISTS outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
    subject text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz);`);

interface Body {
  lines: { sku: string; quantity: number }[];
  paymentMethod: string;
}

const app = Fastify({ logger: false });
app.post<{ Body: Body; Headers: { 'idempotency-key': string; 'x-customer-id'?: string } }>(
  '/v1/orders',
  { schema: { body: placeOrderBodySchema(limits), headers: idempotencyHeadersSchema } },
  async (request, reply) => {
    const id = randomUUID();
    const customerId = request.headers['x-customer-id'] ?? 'anonymous';
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO orders (id, customer_id, idempotency_key, status, lines, payment_method, placed_at)
         VALUES ($1, $2, $3, 'PENDING', $4, $5, now())`,
        [
          id,
          customerId,
          request.headers['idempotency-key'],
          JSON.stringify(request.body.lines),
          request.body.paymentMethod,
        ],
      );
      await client.query('INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3)', [
        randomUUID(),
        'order.v1.OrderPlaced',
        JSON.stringify({ orderId: id, lines: request.body.lines }),
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    reply.code(202);
    return { orderId: id, status: 'PENDING' };
  },
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
announce(Number(new URL(address).port));
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
