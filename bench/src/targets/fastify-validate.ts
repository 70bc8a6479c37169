import Fastify from 'fastify';
import { announce, idempotencyHeadersSchema, placeOrderBodySchema } from './order-schema.js';

/** Ceiling 2: Fastify validating the order body against its JSON schema and answering 202, no I/O. */
const limits = {
  maxLinesPerOrder: Number(process.env.BENCH_MAX_LINES),
  maxQuantityPerLine: Number(process.env.BENCH_MAX_QUANTITY),
};
const app = Fastify({ logger: false });
app.post(
  '/v1/orders',
  { schema: { body: placeOrderBodySchema(limits), headers: idempotencyHeadersSchema } },
  async (_request, reply) => {
    reply.code(202);
    return { status: 'PENDING' };
  },
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
announce(Number(new URL(address).port));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
