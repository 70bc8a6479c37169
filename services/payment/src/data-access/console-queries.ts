import type { Database, TimelineEntry } from '@orderly/platform';

/** An order's payment and provider ledger as the operator console shows them (runtime.timeline). */
export async function paymentTimeline(
  db: Database,
  orderId: string,
  signal: AbortSignal,
): Promise<TimelineEntry[]> {
  const { rows: payments } = await db.query<{
    status: string;
    amount_cents: string;
    updated_at: Date;
  }>('SELECT status, amount_cents, updated_at FROM payments WHERE order_id = $1', [orderId], {
    signal,
  });
  const { rows: ledger } = await db.query<{ kind: string; amount_cents: string; at: Date }>(
    'SELECT kind, amount_cents, at FROM provider_ledger WHERE order_id = $1 ORDER BY id',
    [orderId],
    { signal },
  );
  return [
    ...payments.map((p) => ({
      at: p.updated_at.toISOString(),
      what: `payment ${p.status} (${p.amount_cents} cents)`,
    })),
    ...ledger.map((l) => ({
      at: l.at.toISOString(),
      what: `provider ${l.kind} ${l.amount_cents} cents`,
    })),
  ];
}
