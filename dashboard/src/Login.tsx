import { useId, useState, type FormEvent } from 'react';

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
