/**
 * How the platform's Prometheus exporter names an OpenTelemetry instrument: dots become underscores,
 * counters get `_total`, histograms are read as `_bucket`, `_sum` and `_count`; the unit is not
 * appended (OpenTelemetry JS 0.223). platform/test/health-metrics.test.ts checks this against the
 * exporter, so rules and dashboards written with these names match what /metrics shows.
 */
export type InstrumentKind = 'counter' | 'histogram' | 'gauge' | 'updowncounter';

export interface Instrument {
  readonly name: string;
  readonly kind: InstrumentKind;
}

export function prometheusNames(instrument: Instrument): string[] {
  const base = instrument.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  switch (instrument.kind) {
    case 'counter':
      return [`${base}_total`];
    case 'histogram':
      return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
    default:
      return [base];
  }
}
