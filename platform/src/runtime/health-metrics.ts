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
