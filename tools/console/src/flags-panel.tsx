import { api, unwrap } from './api.ts';
import { Loading } from './overview-panel.tsx';
import { refresh, usePolling } from './use-polling.ts';

/** Feature flags with their current value, and the changes the gateway saw (audit trail). */
export function FlagsPanel() {
  const { value, error } = usePolling(
    () => unwrap(api.GET('/v1/admin/flags')),
    () => refresh.intervalMs,
  );
  if (!value) return <Loading error={error} />;
  return (
    <section aria-label="Feature flags">
      {error && <p class="error">{error}</p>}
      {value.error && <p class="error">{value.error}</p>}
      <p class="hint">
        Definitions <code>{value.hash}</code> (flags.file; a change takes effect within ~5 s).
      </p>
      <div class="table-wrap">
        <table aria-label="Flags">
          <thead>
            <tr>
              <th>Flag</th>
              <th>Value</th>
              <th>Variant</th>
              <th>Rules</th>
            </tr>
          </thead>
          <tbody>
            {value.flags.map((flag) => (
              <tr key={flag.key} data-flag={flag.key}>
                <td>
                  <code>{flag.key}</code>
                  {!flag.enabled && <span class="hint"> (disabled)</span>}
                </td>
                <td data-testid={`flag-value-${flag.key}`}>
                  <b>{String(flag.value)}</b>
                </td>
                <td>{flag.defaultVariant}</td>
                <td>{flag.targeted ? 'targeted' : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Changes</h2>
      <ol class="changes" aria-label="Flag changes">
        {value.changes.map((change, i) => (
          <li key={i}>
            {new Date(change.at).toLocaleString()} · <code>{change.hash}</code> ·{' '}
            {change.flagsChanged.length > 0 ? change.flagsChanged.join(', ') : 'loaded'}
          </li>
        ))}
      </ol>
    </section>
  );
}
