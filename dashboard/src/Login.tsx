import { useId, useState, type FormEvent } from 'react';

/** The `herald token` flags (src/cli/token.ts) for a dashboard token that expires in a day. */
export const MINT_COMMAND =
  "HERALD_JWT_KEY='<the hub secret>' npx herald token --admin --sub ops --subscribe '*' --publish '*' --ttl 1d";

/**
 * Asks for an admin token. The token is handed up in memory only; the app stores it in
 * sessionStorage once the hub has accepted it.
 */
export function Login({
  error,
  checking,
  onSubmit,
}: {
  error: string | null;
  checking: boolean;
  onSubmit(token: string): void;
}) {
  const [token, setToken] = useState('');
  const id = useId();

  const submit = (event: FormEvent) => {
    // Never let the browser submit the form: a GET would put the token in the URL.
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (value) onSubmit(value);
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} method="post" action="#">
        <h1>
          <span className="logo" aria-hidden="true" />
          Herald
        </h1>
        <p className="muted">
          Sign in with an admin token (a JWT whose claims include <code>herald.admin: true</code>).
        </p>
        <div className="login-hint" data-testid="login-hint">
          <p className="muted">
            Mint one on the hub&apos;s machine, with the secret the hub was started with (
            <code>--jwt-key</code> or <code>HERALD_JWT_KEY</code>):
          </p>
          <pre className="mono">{MINT_COMMAND}</pre>
          <p className="muted">
            <code>--subscribe</code> and <code>--publish</code> let the live tail show private updates and the
            publish form send; <code>--ttl</code> makes it expire. In dev mode (
            <code>herald serve --dev</code>) no token is needed.
          </p>
        </div>
        <label htmlFor={`${id}-token`}>Admin token</label>
        <input
          id={`${id}-token`}
          type="password"
          className="mono"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          autoFocus
          required
          data-testid="login-token"
        />
        <button type="submit" className="primary" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        <p className="login-error" role="alert" data-testid="login-error">
          {error ?? ''}
        </p>
      </form>
    </main>
  );
}
