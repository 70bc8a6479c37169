import { useState } from 'preact/hooks';
import { ApiFailure, api, unwrap, type KeyRotation } from './api.ts';
import { Loading } from './overview-panel.tsx';
import { refresh, usePolling } from './use-polling.ts';

/** The public keys that verify access tokens (never a private one), and their rotation. */
export function KeysPanel() {
  const { value, error, reload } = usePolling(
    () => unwrap(api.GET('/.well-known/jwks.json')),
    () => refresh.intervalMs * 5,
  );
  const [rotation, setRotation] = useState<KeyRotation | undefined>();
  const [failure, setFailure] = useState<string | undefined>();

  async function rotate() {
    if (
      !window.confirm('Rotate the signing key? Tokens already issued stay valid until they expire.')
    )
      return;
    setFailure(undefined);
    try {
      setRotation(await unwrap(api.POST('/v1/admin/keys/rotate')));
      reload();
    } catch (f) {
      setFailure(f instanceof ApiFailure ? `${f.code}: ${f.message}` : String(f));
    }
  }

  if (!value) return <Loading error={error} />;
  return (
    <section aria-label="Signing keys">
      <p class="hint">
        Every key that may still verify a live access token (/.well-known/jwks.json). After a
        rotation the new key signs and the previous one stays until its tokens have expired.
      </p>
      <ul class="keys">
        {value.keys.map((key) => (
          <li key={key.kid} class="card">
            <code>{key.kid}</code> · {key.alg} · {key.crv}
            {rotation?.kid === key.kid && <b> (signing)</b>}
            {rotation?.retiringKid === key.kid && <span class="hint"> (retiring)</span>}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void rotate()}>
        Rotate signing key
      </button>
      {rotation && (
        <p class="ok" role="status">
          New key {rotation.kid}
          {rotation.retiringKid &&
            ` replaces ${rotation.retiringKid}, published until ${new Date(rotation.retireAfter ?? '').toLocaleString()}`}
        </p>
      )}
      {failure && <p class="error">{failure}</p>}
    </section>
  );
}
