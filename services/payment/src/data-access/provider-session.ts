import type { QueryResultRows, Sql } from '@orderly/platform';
import type { PaymentProvider, ProviderSession } from '../domain/payment-provider.js';

/**
 * `provider` bound to the open transaction `tx`, for calls made several at a time: their
 * statements (a provider that keeps its ledger in the payment database writes it there) run one
 * at a time, as one connection takes one statement at a time.
 */
export function providerSession(provider: PaymentProvider<Sql>, tx: Sql): ProviderSession {
  const shared = oneAtATime(tx);
  return {
    charge: (request) => provider.charge(request, shared),
    refund: (request) => provider.refund(request, shared),
  };
}

/** `tx` for concurrent callers: each statement starts once the one before it has finished. */
function oneAtATime(tx: Sql): Sql {
  let previous: Promise<unknown> = Promise.resolve();
  return {
    query: <Row = Record<string, unknown>>(
      text: string,
      values?: readonly unknown[],
    ): Promise<QueryResultRows<Row>> => {
      const result = previous.then(() => tx.query<Row>(text, values));
      previous = result.catch(() => undefined);
      return result;
    },
  };
}
