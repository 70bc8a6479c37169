import { useRef } from 'preact/hooks';
import { api, unwrap, type SystemOverview } from './api.ts';
import { refresh, usePolling } from './use-polling.ts';

const statusOrder = ['PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED'];

/** Live order rate and status mix, then each service's health, outbox backlog and consumer lag. */
export function OverviewPanel() {
  const samples = useRef<{ at: number; perMinute: number }[]>([]);
  const { value, error } = usePolling(
    async () => {
      const overview = await unwrap(api.GET('/v1/admin/system'));
      refresh.intervalMs = overview.refreshIntervalMs;
      const perMinute = figure(overview.orders.ordersPlacedLastMinute);
      samples.current = [...samples.current, { at: Date.now(), perMinute }].slice(-60);
      return overview;
    },
    () => refresh.intervalMs,
  );
  if (!value) return <Loading error={error} />;
  const byStatus = (value.orders.ordersByStatus ?? {}) as Record<string, number>;
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  return (
    <section aria-label="Overview">
      {error && <p class="error">{error}</p>}
      <div class="cards">
        <article class="card" aria-label="Order rate">
          <h2>Orders per minute</h2>
          <p class="big" data-testid="order-rate">
            {figure(value.orders.ordersPlacedLastMinute)}
          </p>
          <Sparkline points={samples.current.map((s) => s.perMinute)} />
          <p class="hint">
            {figure(value.orders.openSagas)} open sagas · placed in the last minute, read every{' '}
            {value.refreshIntervalMs / 1000} s
          </p>
        </article>
        <article class="card" aria-label="Status mix">
          <h2>Status mix</h2>
          <p class="hint">
            {total} orders in the last {figure(value.orders.ordersWindowMinutes)} minutes
          </p>
          <div class="mix" role="img" aria-label="status mix bar">
            {statusOrder.map((status) =>
              byStatus[status] ? (
                <span
                  key={status}
                  class={`status-${status}`}
                  style={{ flexGrow: byStatus[status] }}
                  title={`${status}: ${byStatus[status]}`}
                />
              ) : null,
            )}
          </div>
          <ul class="legend">
            {statusOrder.map((status) => (
              <li key={status}>
                <span class={`dot status-${status}`} /> {status} <b>{byStatus[status] ?? 0}</b>
              </li>
            ))}
          </ul>
        </article>
      </div>
      <h2>Services</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Service</th>
              <th>Ready</th>
              <th>Outbox backlog</th>
              <th>Consumer lag</th>
              <th>Flags</th>
            </tr>
          </thead>
          <tbody>
            {value.services.map((s) => (
              <ServiceRow key={s.name} service={s} />
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">Read at {new Date(value.at).toLocaleTimeString()}.</p>
    </section>
  );
}

function ServiceRow({ service }: { service: SystemOverview['services'][number] }) {
  const failing = Object.entries(service.checks ?? {}).filter(([, state]) => state !== 'ok');
  const lag = Object.entries(service.consumerLag ?? {});
  return (
    <tr data-service={service.name}>
      <td>{service.name}</td>
      <td>
        <span class={service.ready ? 'ok' : 'bad'}>{service.ready ? 'ready' : 'not ready'}</span>
        {failing.map(([check, state]) => (
          <div key={check} class="hint">
            {check}: {state}
          </div>
        ))}
        {service.unavailable && <div class="hint">{service.unavailable}</div>}
      </td>
      <td>{service.outboxBacklog ?? '—'}</td>
      <td>
        {lag.length === 0
          ? '—'
          : lag.map(([subscription, n]) => (
              <div key={subscription}>
                {subscription}: <b>{n}</b>
              </div>
            ))}
      </td>
      <td>
        <code>{service.flagsHash ?? '—'}</code>
      </td>
    </tr>
  );
}

function figure(value: number | Record<string, number> | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function Sparkline({ points }: { points: number[] }) {
  if (points.length < 2) return <svg class="spark" viewBox="0 0 100 24" aria-hidden="true" />;
  const max = Math.max(1, ...points);
  const path = points
    .map((p, i) => `${(i / (points.length - 1)) * 100},${24 - (p / max) * 22}`)
    .join(' ');
  return (
    <svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
      <polyline points={path} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

export function Loading({ error }: { error?: string | undefined }) {
  return error ? <p class="error">{error}</p> : <p class="hint">Loading…</p>;
}
