import { useState } from 'preact/hooks';
import { ApiFailure, api, unwrap } from './api.ts';
import { Loading } from './overview-panel.tsx';
import { refresh, usePolling } from './use-polling.ts';

/** Messages that failed every delivery, their error, and a redrive button each. */
export function DeadLettersPanel() {
  const { value, error, reload } = usePolling(
    () => unwrap(api.GET('/v1/admin/dead-letters')),
    () => refresh.intervalMs,
  );
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();

  async function redrive(ids: string[]) {
    setOutcome(undefined);
    try {
      const { redriven } = await unwrap(
        api.POST('/v1/admin/dead-letters/redrive', { body: { ids } }),
      );
      setOutcome({ ok: true, text: `Redriven: ${redriven}` });
      reload();
    } catch (failure) {
      setOutcome({
        ok: false,
        text:
          failure instanceof ApiFailure ? `${failure.code}: ${failure.message}` : String(failure),
      });
    }
  }

  if (!value) return <Loading error={error} />;
  return (
    <section aria-label="Dead letters">
      {error && <p class="error">{error}</p>}
      {outcome && (
        <p class={outcome.ok ? 'ok' : 'error'} role="status">
          {outcome.text}
        </p>
      )}
      {value.deadLetters.length === 0 ? (
        <p class="hint" data-testid="no-dead-letters">
          No dead letters.
        </p>
      ) : (
        <ul class="letters">
          {value.deadLetters.map((letter) => (
            <li key={letter.id} class="card" data-dead-letter={letter.id}>
              <div class="row">
                <b>{letter.subscription}</b>
                <button type="button" onClick={() => void redrive([letter.id])}>
                  Redrive
                </button>
              </div>
              <div>
                <code>{letter.subject}</code>
              </div>
              <p class="error-text">{letter.error}</p>
              <p class="hint">
                event {letter.eventId} · {letter.attempts} attempts · failed{' '}
                {new Date(letter.failedAt).toLocaleString()}
              </p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
