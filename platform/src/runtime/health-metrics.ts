import type { Meter } from '@opentelemetry/api';
import type { Readiness, ReadinessBudget } from './readiness.js';

/**
 * Readiness as metrics, so alerts and dashboards see what `/readyz` answers without probing it:
 * `orderly.readiness` is 1 when every check passes (what makes `/readyz` answer 200), and
 * `orderly.readiness.check` is 1 or 0 per check (`orderly.readiness.check.name`: database, bus, a
 * callee, `startup`, `faults`, ...). The checks run at each collection (a Prometheus scrape), within
 * the same budget as `/readyz`; a stopping service reads 0.
 */
export interface ReadinessMetricSources {
  readonly meter: Meter;
  readonly readiness: Readiness;
  /** The `/readyz` budget in effect now (`health` keys, reloadable). */
  budget(): ReadinessBudget;
  stopping(): boolean;
}

export function registerReadinessMetrics(sources: ReadinessMetricSources): () => void {
  const { meter, readiness } = sources;
  const ready = meter.createObservableGauge('orderly.readiness', {
    description: '1 when every readiness check passes (/readyz answers 200), else 0.',
  });
  const check = meter.createObservableGauge('orderly.readiness.check', {
    description: '1 when this readiness check passes, else 0.',
  });
  const observe: Parameters<Meter['addBatchObservableCallback']>[0] = async (result) => {
    const answers = await readiness.evaluate(sources.budget());
    let all = !sources.stopping();
    for (const [name, answer] of Object.entries(answers)) {
      result.observe(check, answer === 'ok' ? 1 : 0, { 'orderly.readiness.check.name': name });
      if (answer !== 'ok') all = false;
    }
    result.observe(ready, all ? 1 : 0);
  };
  meter.addBatchObservableCallback(observe, [ready, check]);
  return () => meter.removeBatchObservableCallback(observe, [ready, check]);
}

/** One subscription's backlog, as the bus reports it. */
export interface SubscriptionLag {
  readonly subscription: string;
  /** Not yet handed to a handler (queued, or waiting for a redelivery). */
  readonly pending: number;
  /** Handed to a handler and not yet acknowledged. */
  readonly inFlight: number;
}

/**
 * Consumer lag as a metric: `orderly.consumer.lag` per subscription (`messaging.consumer.group.name`)
 * is every message published for it and not yet acknowledged (pending plus in flight), as the bus
 * reports it at each collection (JetStream: the durable consumers' `num_pending + num_ack_pending`,
 * shared by every replica; in memory: the queue). A bus that cannot answer reports nothing.
 */
export function registerConsumerLagMetrics(sources: {
  readonly meter: Meter;
  lag(): Promise<readonly SubscriptionLag[]>;
}): () => void {
  const lag = sources.meter.createObservableGauge('orderly.consumer.lag', {
    unit: '{message}',
    description: 'Messages for this subscription not yet acknowledged (pending and in flight).',
  });
  const observe: Parameters<Meter['addBatchObservableCallback']>[0] = async (result) => {
    let lags: readonly SubscriptionLag[];
    try {
      lags = await sources.lag();
    } catch {
      return; // the bus is unreachable: readiness says so, and the series has a gap
    }
    for (const entry of lags)
      result.observe(lag, entry.pending + entry.inFlight, {
        'messaging.consumer.group.name': entry.subscription,
      });
  };
  sources.meter.addBatchObservableCallback(observe, [lag]);
  return () => sources.meter.removeBatchObservableCallback(observe, [lag]);
}
