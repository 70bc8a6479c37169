import { composeMessage } from '../domain/compose-message.js';
import type { CustomerMessage, OrderOutcome } from '../domain/notification.js';
import { notificationIdFor } from '../domain/notification-id.js';
import type { Sender } from '../domain/sender.js';

/** What notifyCustomers records, in the consumer's transaction. */
export interface NotifyCustomersStore {
  /**
   * Records the orders' notifications, at most one per order; returns the order ids that had
   * none yet (data-access/notification-repository.ts).
   */
  insertAbsent(messages: readonly CustomerMessage[], at: Date): Promise<ReadonlySet<string>>;
  /** Records CustomerNotified for each message in the outbox (the entry point maps it). */
  addCustomerNotified(messages: readonly CustomerMessage[]): Promise<void>;
}

/** What became of one order outcome: its message was sent now, or the order had one already. */
export type NotifyCustomerResult = 'notified' | 'already-notified';

/**
 * Tells each customer how their order ended: one message per order, for whichever terminal
 * outcome (confirmed or cancelled) comes first. A later outcome for the same order — in this run
 * or after an earlier one — sends nothing: the order state machine never ends an order twice, so
 * a second one is a bug upstream and the customer keeps the first message. A run (a batch) is
 * recorded with one insert and one outbox statement, then its messages are sent. Returns one
 * result per outcome, in order.
 *
 * The sends come last, inside the transaction: a failing send fails the run, so nothing is
 * recorded and the outcomes are tried again. Every send has finished before that, so a sink sees
 * a repeat (the same notification id) only after it has the message.
 */
export async function notifyCustomers(
  store: NotifyCustomersStore,
  sender: Sender,
  outcomes: readonly OrderOutcome[],
  now: Date,
): Promise<NotifyCustomerResult[]> {
  const messages = outcomes.map(messageOf);
  // The first outcome of the run for an order is the one that counts, as if applied one by one.
  const firsts = new Map<string, CustomerMessage>();
  for (const message of messages)
    if (!firsts.has(message.orderId)) firsts.set(message.orderId, message);
  const inserted = await store.insertAbsent([...firsts.values()], now);
  const fresh = messages.filter(
    (message) => firsts.get(message.orderId) === message && inserted.has(message.orderId),
  );
  await store.addCustomerNotified(fresh);
  const sent = await Promise.allSettled(fresh.map((message) => sender.send(message)));
  const failed = sent.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const notified = new Set(fresh);
  return messages.map((message) => (notified.has(message) ? 'notified' : 'already-notified'));
}

function messageOf(outcome: OrderOutcome): CustomerMessage {
  const common = {
    notificationId: notificationIdFor(outcome.orderId),
    orderId: outcome.orderId,
    customerId: outcome.customerId,
  };
  return outcome.kind === 'ORDER_CONFIRMED'
    ? {
        ...common,
        kind: 'ORDER_CONFIRMED',
        text: composeMessage('ORDER_CONFIRMED', outcome.orderId, outcome.totalCents),
      }
    : {
        ...common,
        kind: 'ORDER_CANCELLED',
        text: composeMessage('ORDER_CANCELLED', outcome.orderId, outcome.cause),
      };
}
