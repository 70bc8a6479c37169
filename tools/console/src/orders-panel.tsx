import { useEffect, useState } from 'preact/hooks';
import {
  ApiFailure,
  api,
  unwrap,
  type OrderPage,
  type OrderSearch,
  type AnyOrder,
  type OrderTimeline,
} from './api.ts';
import { refresh } from './use-polling.ts';

const statuses = ['', 'PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED'] as const;
const terminal = new Set(['CONFIRMED', 'CANCELLED']);

function message(failure: unknown): string {
  return failure instanceof ApiFailure ? `${failure.code}: ${failure.message}` : String(failure);
}

/** A local date-time input as the API's RFC 3339 (the browser's time zone). */
function rfc3339(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

/** Order search (by id, customer, status, time) and, for one order, its timeline across services. */
export function OrdersPanel({ orderId }: { orderId: string }) {
  const [form, setForm] = useState({ id: '', customer: '', status: '', from: '', to: '' });
  const [page, setPage] = useState<OrderPage | undefined>();
  const [query, setQuery] = useState<OrderSearch | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function search(cursor?: string) {
    setError(undefined);
    if (form.id.trim()) {
      window.location.hash = `#/orders/${encodeURIComponent(form.id.trim())}`;
      return;
    }
    // A search by filters leaves the order that was open.
    if (orderId) window.location.hash = '#/orders';
    const next: OrderSearch = {
      ...(form.customer.trim() ? { customer: form.customer.trim() } : {}),
      ...(form.status ? { status: form.status as NonNullable<OrderSearch['status']> } : {}),
      ...(rfc3339(form.from) ? { from: rfc3339(form.from) } : {}),
      ...(rfc3339(form.to) ? { to: rfc3339(form.to) } : {}),
    };
    setBusy(true);
    try {
      const found = await unwrap(
        api.GET('/v1/admin/orders', {
          params: {
            query: { ...(cursor ? (query ?? next) : next), ...(cursor ? { cursor } : {}) },
          },
        }),
      );
      setQuery(cursor ? query : next);
      setPage(cursor && page ? { ...found, orders: [...page.orders, ...found.orders] } : found);
    } catch (failure) {
      setError(message(failure));
    } finally {
      setBusy(false);
    }
  }

  const field = (name: keyof typeof form) => ({
    name,
    value: form[name],
    onInput: (e: Event) =>
      setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <section aria-label="Orders">
      <form
        class="search"
        aria-label="Order search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          Order id
          <input {...field('id')} placeholder="an order id opens it" />
        </label>
        <label>
          Customer
          <input {...field('customer')} placeholder="user id" />
        </label>
        <label>
          Status
          <select {...field('status')}>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {orderId ? (
        <OrderDetail key={orderId} orderId={orderId} />
      ) : (
        page && (
          <>
            <div class="table-wrap">
              <table aria-label="Orders found">
                <thead>
                  <tr>
                    <th>Order</th>
                    <th>Status</th>
                    <th>Customer</th>
                    <th>Total</th>
                    <th>Placed</th>
                  </tr>
                </thead>
                <tbody>
                  {page.orders.map((o) => (
                    <tr key={o.orderId}>
                      <td>
                        <a href={`#/orders/${o.orderId}`}>
                          <code>{o.orderId.slice(0, 8)}</code>
                        </a>
                      </td>
                      <td>
                        <span class={`pill status-${o.status}`}>{o.status}</span>
                      </td>
                      <td>
                        <code>{o.customerId.slice(0, 8)}</code>
                      </td>
                      <td>{((o.totalCents ?? 0) / 100).toFixed(2)}</td>
                      <td>{new Date(o.placedAt).toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {page.orders.length === 0 && <p class="hint">No order matches.</p>}
            {page.next && (
              <button type="button" class="quiet" onClick={() => void search(page.next)}>
                More
              </button>
            )}
          </>
        )
      )}
    </section>
  );
}

/** One order and what every service did about it; read again until the order is final. */
function OrderDetail({ orderId }: { orderId: string }) {
  const [detail, setDetail] = useState<{ order: AnyOrder; timeline: OrderTimeline } | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const read = async () => {
      try {
        const params = { params: { path: { orderId } } };
        const [order, timeline] = await Promise.all([
          unwrap(api.GET('/v1/admin/orders/{orderId}', params)),
          unwrap(api.GET('/v1/admin/orders/{orderId}/timeline', params)),
        ]);
        if (stopped) return;
        setDetail({ order, timeline });
        setError(undefined);
        // Final, and the other services have had their say: nothing more will change.
        if (
          terminal.has(order.status) &&
          timeline.timeline.some((e) => e.service === 'notification')
        )
          return;
      } catch (failure) {
        if (stopped) return;
        setError(message(failure));
        if (failure instanceof ApiFailure && failure.status === 404) return;
      }
      timer = window.setTimeout(() => void read(), refresh.intervalMs);
    };
    void read();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [orderId]);

  if (!detail)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="hint">Loading order {orderId}…</p>
    );
  const { order, timeline } = detail;
  const start = new Date(timeline.timeline[0]?.at ?? order.placedAt).getTime();
  return (
    <article class="card order" aria-label="Order">
      <h2>
        Order <code>{order.orderId}</code>
      </h2>
      <p>
        <span class={`pill status-${order.status}`} data-testid="order-status">
          {order.status}
        </span>
        {order.cancellationReason && <span class="hint"> ({order.cancellationReason})</span>}
      </p>
      <dl>
        <dt>Customer</dt>
        <dd>
          <code>{order.customerId}</code>
        </dd>
        <dt>Total</dt>
        <dd>{(order.totalCents / 100).toFixed(2)}</dd>
        <dt>Lines</dt>
        <dd>{order.lines.map((l) => `${l.quantity}× ${l.sku}`).join(', ')}</dd>
        <dt>Payment method</dt>
        <dd>{order.paymentMethod ?? '—'}</dd>
      </dl>
      <h3>Timeline</h3>
      <ol class="timeline">
        {timeline.timeline.map((entry, i) => (
          <li key={i}>
            <span class="offset">+{new Date(entry.at).getTime() - start} ms</span>
            <span class={`service service-${entry.service}`}>{entry.service}</span>
            <span>{entry.what}</span>
          </li>
        ))}
      </ol>
      {Object.entries(timeline.unavailable).map(([service, why]) => (
        <p key={service} class="hint">
          {service}: {why}
        </p>
      ))}
      {error && <p class="error">{error}</p>}
    </article>
  );
}
