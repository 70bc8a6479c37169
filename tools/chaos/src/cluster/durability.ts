import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { busHeaders } from '@orderly/platform';
import { servicesWithDatabase } from '@orderly/system';
import type { Sql } from '../invariants.js';

/**
 * The check behind "an acknowledged publish survives the loss of a node": every outbox row a relay
 * marked published (it does so only after JetStream acknowledged the publish) must be in the events
 * stream after the faults, read back from the cluster. A row missing is an acknowledged publish the
 * cluster lost. `storedTwice` counts event ids stored more than once: two relays (or a relay and its
 * restart) publishing one row after the duplicate window — harmless, the consumers' inboxes apply
 * each id once, but it shows how often the broker's deduplication was not enough.
 */
export interface DurabilityCheck {
  readonly streamReplicas: number;
  readonly published: number;
  readonly missing: number;
  readonly missingExamples: string[];
  readonly storedTwice: number;
  readonly streamMessages: number;
}

export async function checkPublishedEventsStored(
  sql: Sql,
  natsServers: string[],
  streamReplicas: number,
  stream = 'ORDERLY_EVENTS',
): Promise<DurabilityCheck> {
  const published: string[] = [];
  for (const service of servicesWithDatabase) {
    const rows = await sql<{ id: string }>(
      service,
      'SELECT event_id::text AS id FROM outbox WHERE published_at IS NOT NULL',
    );
    published.push(...rows.map((r) => r.id));
  }
  const seen = new Map<string, number>();
  const nc = await connect({ servers: natsServers });
  let streamMessages = 0;
  try {
    const js = jetstream(nc);
    // An ordered consumer over the whole stream: every stored message once, in sequence.
    const consumer = await js.consumers.get(stream);
    const info = await consumer.info();
    const total = info.num_pending;
    if (total > 0) {
      const messages = await consumer.consume();
      for await (const m of messages) {
        streamMessages++;
        const id = m.headers?.get(busHeaders.eventId);
        if (id) seen.set(id, (seen.get(id) ?? 0) + 1);
        if (m.info.pending === 0) break;
      }
    }
  } finally {
    await nc.close();
  }
  const missing = published.filter((id) => !seen.has(id));
  const ours = new Set(published);
  return {
    streamReplicas,
    published: published.length,
    missing: missing.length,
    missingExamples: missing.slice(0, 5),
    storedTwice: [...seen].filter(([id, n]) => n > 1 && ours.has(id)).length,
    streamMessages,
  };
}
