import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, storeToken, storedToken, unwrap, whenSignedOut } from './api.ts';
import { DeadLettersPanel } from './dead-letters-panel.tsx';
import { FlagsPanel } from './flags-panel.tsx';
import { KeysPanel } from './keys-panel.tsx';
import { OrdersPanel } from './orders-panel.tsx';
import { OverviewPanel } from './overview-panel.tsx';

/** The sections of the console, each its own hash route (`#/orders/<id>` opens an order). */
const sections = [
  { id: 'overview', label: 'Overview' },
  { id: 'orders', label: 'Orders' },
  { id: 'dead-letters', label: 'Dead letters' },
  { id: 'flags', label: 'Flags' },
  { id: 'keys', label: 'Keys' },
] as const;
type Section = (typeof sections)[number]['id'];

function routeOf(hash: string): { section: Section; rest: string } {
  const [, section = '', ...rest] = hash.replace(/^#/, '').split('/');
  const known = sections.find((s) => s.id === section);
  return { section: known?.id ?? 'overview', rest: rest.map(decodeURIComponent).join('/') };
}

export function App() {
  const [signedIn, setSignedIn] = useState(storedToken() !== undefined);
  const [notice, setNotice] = useState<string | undefined>();
  const [route, setRoute] = useState(routeOf(window.location.hash));

  useEffect(() => {
    const follow = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', follow);
    whenSignedOut((failure) => {
      storeToken(undefined);
      setSignedIn(false);
      setNotice(
        failure.status === 403
          ? `${failure.code}: this account is not an admin (${failure.message})`
          : `${failure.code}: ${failure.message} — please log in again`,
      );
    });
    return () => window.removeEventListener('hashchange', follow);
  }, []);

  if (!signedIn)
    return (
      <Login
        notice={notice}
        onSignedIn={() => {
          setNotice(undefined);
          setSignedIn(true);
        }}
      />
    );
  return (
    <div class="shell">
      <header>
        <strong class="brand">Orderly console</strong>
        <nav>
          {sections.map((s) => (
            <a key={s.id} href={`#/${s.id}`} class={route.section === s.id ? 'current' : ''}>
              {s.label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            storeToken(undefined);
            setSignedIn(false);
          }}
        >
          Log out
        </button>
      </header>
      <main>
        {route.section === 'overview' && <OverviewPanel />}
        {route.section === 'orders' && <OrdersPanel orderId={route.rest} />}
        {route.section === 'dead-letters' && <DeadLettersPanel />}
        {route.section === 'flags' && <FlagsPanel />}
        {route.section === 'keys' && <KeysPanel />}
      </main>
    </div>
  );
}

/** The login form: POST /v1/auth/login, then a first admin call to check the role. */
function Login(props: { notice: string | undefined; onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(props.notice);
  const [busy, setBusy] = useState(false);

  async function logIn(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const tokens = await unwrap(api.POST('/v1/auth/login', { body: { email, password } }));
      storeToken(tokens.accessToken);
      // The token is good; the role is checked by the first admin call (403 for a customer).
      await unwrap(api.GET('/v1/admin/flags'));
      props.onSignedIn();
    } catch (failure) {
      storeToken(undefined);
      setError(
        failure instanceof ApiFailure && failure.status === 403
          ? `${failure.code}: this account is not an admin`
          : failure instanceof ApiFailure
            ? `${failure.code}: ${failure.message}`
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form onSubmit={(e) => void logIn(e)} aria-label="Log in">
        <h1>Orderly console</h1>
        <p class="hint">For administrators: log in with an admin account.</p>
        <label>
          Email
          <input
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
