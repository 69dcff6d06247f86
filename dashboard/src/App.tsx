import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { ConnectionStatus, HeraldClientError } from 'herald/client';
import { loadConfig, type DashboardConfig } from './hub.ts';
import { useLive, useTail, type Live } from './live.ts';
import { Login } from './Login.tsx';
import { Card, Connections, Kpis, Refusals, Topics, rateTitle } from './Panels.tsx';
import { PublishForm } from './PublishForm.tsx';
import { RateChart } from './RateChart.tsx';
import { TailView } from './TailView.tsx';
import { formatRate } from './format.ts';
import { useTheme, type ThemeChoice } from './theme.ts';

/** sessionStorage only: the token dies with the tab and never reaches a URL or a log. */
const TOKEN_KEY = 'herald.dashboard.token';
/** Stats come every second to admin subscribers only; this long without them means "not an admin token". */
const ADMIN_CHECK_MS = 4000;
const NOT_ADMIN =
  'The hub accepted this token but sends it no statistics: an admin token needs the claim "herald": {"admin": true} (or the hub has stats turned off).';

function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token === null) window.sessionStorage.removeItem(TOKEN_KEY);
    else window.sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Without storage the token lasts until the page reloads.
  }
}

/** Loads `config.json`, then hands over to the session. */
export function App() {
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    loadConfig(import.meta.env.BASE_URL).then(
      (loaded) => current && setConfig(loaded),
      (err: unknown) => current && setError(err instanceof Error ? err.message : 'unknown error'),
    );
    return () => {
      current = false;
    };
  }, []);

  if (error !== null) {
    return (
      <main className="splash">
        <p role="alert">Cannot load the dashboard configuration: {error}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Retry
        </button>
      </main>
    );
  }
  if (config === null) {
    return (
      <main className="splash">
        <p className="muted">Loading…</p>
      </main>
    );
  }
  return <Session config={config} />;
}

/** Owns the token, the live stream and the tail; shows the login screen until the hub accepts. */
function Session({ config }: { config: DashboardConfig }) {
  const themeState = useTheme();
  const [needsToken, setNeedsToken] = useState(!config.dev);
  const [token, setToken] = useState<string | null>(() =>
    config.dev ? (config.token ?? null) : storedToken(),
  );
  const [accepted, setAccepted] = useState(false);
  const [loginError, setLoginError] = useState<string | null>(null);
  const [selector, setSelector] = useState('*');
  const [selectorError, setSelectorError] = useState<string | null>(null);
  const [stopped, setStopped] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const goodSelector = useRef('*');
  const tail = useTail();

  const signOut = useCallback((reason: string | null) => {
    storeToken(null);
    setToken(null);
    setAccepted(false);
    setNeedsToken(true);
    setLoginError(reason);
  }, []);

  const live = useLive({
    hubUrl: config.hubUrl,
    token,
    selector,
    enabled: (!needsToken || token !== null) && stopped === null,
    generation,
    onOpen() {
      goodSelector.current = selector;
    },
    onStats() {
      if (needsToken && token !== null) storeToken(token);
      setAccepted(true);
      setLoginError(null);
    },
    onRefused(error: HeraldClientError) {
      const selectorJustChanged = selector !== goodSelector.current;
      if ((error.status === 400 || error.status === 403) && selectorJustChanged) {
        setSelectorError(`Selector "${selector}" refused: ${error.message}`);
        setSelector(goodSelector.current);
      } else if (error.status === 401 || error.status === 403) {
        signOut(error.message);
      } else {
        setStopped(error.message);
      }
    },
    onUpdate: tail.push,
  });

  const waitingForStats = needsToken && token !== null && !accepted && live.status === 'open';
  useEffect(() => {
    if (!waitingForStats) return;
    const timer = setTimeout(() => signOut(NOT_ADMIN), ADMIN_CHECK_MS);
    return () => clearTimeout(timer);
  }, [waitingForStats, signOut]);

  if (needsToken && (token === null || !accepted)) {
    const trouble = token !== null && live.status === 'reconnecting' ? (live.error?.message ?? null) : null;
    return (
      <Login
        error={trouble ?? loginError}
        checking={token !== null}
        onSubmit={(value) => {
          setLoginError(null);
          setToken(value);
        }}
      />
    );
  }

  return (
    <Dashboard
      config={config}
      token={token}
      live={live}
      theme={themeState}
      stopped={stopped}
      onRestart={() => {
        setStopped(null);
        setGeneration((g) => g + 1);
      }}
      onSignOut={config.dev ? null : () => signOut(null)}
    >
      <TailView
        tail={tail}
        selector={selector}
        selectorError={selectorError}
        onSelector={(next) => {
          setSelectorError(null);
          tail.clear();
          setSelector(next);
        }}
      />
    </Dashboard>
  );
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting',
  open: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
};
const THEME_TEXT: Record<ThemeChoice, string> = {
  auto: 'Theme: auto',
  light: 'Theme: light',
  dark: 'Theme: dark',
};

/**
 * The hub averages its rates over a short sliding window; the chart says so. The span runs
 * from the oldest sample to now, so it grows by up to one tick between samples (5.0-5.99 s
 * for a 5 s window): the whole seconds name the window, rounding would flicker to 6.
 */
function windowTitle(stats: Live['stats']): string {
  const seconds = Math.floor(stats?.rates.windowSeconds ?? 0);
  return seconds > 0 ? `Rates, last 2 minutes (${seconds} s average)` : 'Rates, last 2 minutes';
}

interface DashboardProps {
  config: DashboardConfig;
  token: string | null;
  live: Live;
  theme: ReturnType<typeof useTheme>;
  stopped: string | null;
  onRestart(): void;
  onSignOut: (() => void) | null;
  children: ReactNode;
}

function Dashboard({ config, token, live, theme, stopped, onRestart, onSignOut, children }: DashboardProps) {
  const { stats, series, status, error } = live;
  const broker = stats?.broker;
  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span>Herald</span>
          <span className="muted">dashboard</span>
          {config.dev ? <span className="badge">dev</span> : null}
        </div>
        <div className="top-right">
          <span className={`pill status-${status}`} data-testid="status" title={error?.message}>
            <span className="dot" aria-hidden="true" />
            {STATUS_TEXT[status]}
          </span>
          <span className={`pill ${broker ? (broker.ready ? 'ok' : 'bad') : ''}`} data-testid="broker">
            <span className="dot" aria-hidden="true" />
            {broker ? `${broker.kind} · ${broker.ready ? 'ready' : 'down'}` : 'broker –'}
          </span>
          <button
            type="button"
            onClick={theme.cycle}
            className="theme-toggle"
            title="Toggle light / dark theme"
          >
            {THEME_TEXT[theme.choice]}
          </button>
          {onSignOut ? (
            <button type="button" onClick={onSignOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>

      {stopped !== null ? (
        <div className="banner bad" role="alert">
          The hub closed the stream: {stopped}{' '}
          <button type="button" onClick={onRestart}>
            Reconnect
          </button>
        </div>
      ) : status === 'reconnecting' ? (
        <div className="banner" role="status">
          Reconnecting{error ? `: ${error.message}` : '…'}
        </div>
      ) : null}

      <main className="grid">
        <div className="card-wide">
          <Kpis stats={stats} />
        </div>
        <Card
          title={windowTitle(stats)}
          wide
          testId="rates"
          actions={
            <div className="legend num" title={rateTitle(stats)}>
              <span className="swatch published" aria-hidden="true" />
              published <span className="legend-value">{formatRate(stats?.rates.publishedPerSec ?? 0)}</span>
              /s
              <span className="swatch delivered" aria-hidden="true" />
              delivered <span className="legend-value">{formatRate(stats?.rates.deliveredPerSec ?? 0)}</span>
              /s
            </div>
          }
        >
          <RateChart series={series} theme={theme.theme} />
        </Card>
        <Connections stats={stats} />
        <Topics stats={stats} />
        <Refusals stats={stats} />
        <PublishForm hubUrl={config.hubUrl} token={token} />
        {children}
      </main>
    </div>
  );
}
