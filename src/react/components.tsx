import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { HeraldClientError } from '../client/errors.ts';
import type { ConnectionStatus as Status } from '../client/subscribe.ts';
import type { HeraldUpdate } from '../client/transport.ts';
import { isExactTopic } from '../client/topic-match.ts';
import type { JsonValue } from '../protocol/state.ts';
import { ConnectionRegistry, type HubSettings, type OverallStatus, type StateMode } from './registry.ts';

interface HeraldContextValue {
  registry: ConnectionRegistry;
  settings: HubSettings;
}

const HeraldContext = createContext<HeraldContextValue | null>(null);

export interface HeraldProviderProps extends HubSettings {
  children?: ReactNode;
}

/** Owns the connections of everything below it; they close when it unmounts. */
export function HeraldProvider({ children, ...settings }: HeraldProviderProps) {
  const [registry] = useState(() => new ConnectionRegistry());
  useEffect(() => () => registry.close(), [registry]);
  return <HeraldContext.Provider value={{ registry, settings }}>{children}</HeraldContext.Provider>;
}

function useHerald(): HeraldContextValue {
  const ctx = useContext(HeraldContext);
  if (!ctx) throw new Error('herald/react: wrap your components in <HeraldProvider url="...">');
  return ctx;
}

export interface UseTopicOptions<T> {
  /** State before the first update. */
  initial?: T;
  /**
   * Folds an update into the state. `value` is the update's data parsed as JSON (the raw
   * string when it is not JSON). Without it, the state is the latest value.
   */
  reduce?: (state: T, value: unknown, update: HeraldUpdate) => T;
  /** Overrides the provider's token for this hook (a separate connection). */
  token?: string;
  /** Overrides the provider's hub URL for this hook. */
  url?: string;
  /**
   * State topics (docs/state.md): `data` is the retained, merged state instead of the latest
   * update — for one exact topic its state (`initial` while it has none), otherwise a record
   * topic → state of every matching topic that has one. Sent first on mount and on every
   * reconnect, then kept current; `reduce` is not used.
   */
  state?: boolean;
  /** With `state`: at most one change per topic per this many ms (1-60000). */
  throttle?: number;
}

export interface TopicState<T> {
  data: T;
  status: Status;
  lastEventId: string | undefined;
  error: HeraldClientError | undefined;
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** In state mode, one exact topic gives its state as `data`; anything else a record topic -> state. */
function isSingleTopic(key: string): boolean {
  const selectors = JSON.parse(key) as string[];
  // Not one exact topic (a refused selector included: listen() throws for it).
  return selectors.length === 1 && isExactTopic(selectors[0]!);
}

/** Live state of one or more topics (selectors), folded with `reduce`. */
export function useTopic<T = unknown>(
  topics: string | readonly string[],
  options: UseTopicOptions<T> = {},
): TopicState<T> {
  const { registry, settings } = useHerald();
  const key = JSON.stringify(typeof topics === 'string' ? [topics] : topics);
  const reduceRef = useRef(options.reduce);
  reduceRef.current = options.reduce;
  const wantsState = options.state === true;
  const single = isSingleTopic(key);
  const [state, setState] = useState<TopicState<T>>(() => ({
    data: (wantsState && !single ? {} : options.initial) as T,
    status: 'connecting',
    lastEventId: undefined,
    error: undefined,
  }));
  const url = options.url ?? settings.url;
  const token = options.token ?? settings.token;
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const initialRef = useRef(options.initial);
  const throttle = options.throttle;

  useEffect(() => {
    const hub: HubSettings = { ...settingsRef.current, url };
    if (token !== undefined) hub.token = token;
    if (options.token !== undefined) delete hub.getToken;
    const selectors = JSON.parse(key) as string[];
    let known: Record<string, JsonValue> = {};
    let mode: StateMode | undefined;
    if (wantsState) {
      mode = throttle !== undefined ? { throttle } : {};
      setState((s) => ({ ...s, data: (single ? initialRef.current : {}) as T }));
    }
    return registry.listen(
      hub,
      selectors,
      {
        update(update) {
          if (mode) {
            setState((s) => (s.lastEventId === update.id ? s : { ...s, lastEventId: update.id }));
            return;
          }
          const value = parse(update.data);
          setState((s) => ({
            ...s,
            data: reduceRef.current ? reduceRef.current(s.data, value, update) : (value as T),
            lastEventId: update.id,
          }));
        },
        status(status, error) {
          setState((s) => (s.status === status && s.error === error ? s : { ...s, status, error }));
        },
        states(changes) {
          known = { ...known };
          for (const [topic, value] of changes) {
            if (value === undefined) delete known[topic];
            else known[topic] = value;
          }
          const data = (single ? (known[selectors[0]!] ?? initialRef.current) : known) as T;
          setState((s) => ({ ...s, data }));
        },
      },
      mode,
    );
    // options.token is part of `token`; the settings object changes identity every render.
  }, [registry, url, token, key, wantsState, single, throttle]);
  return state;
}

/** The provider's connections summed up: connected, connecting, reconnecting or offline. */
export function useHeraldStatus(): OverallStatus {
  const { registry } = useHerald();
  return useSyncExternalStore(
    registry.watch,
    () => registry.summary,
    () => 'offline' as const,
  );
}

const COLORS: Record<OverallStatus, string> = {
  connected: '#16a34a',
  connecting: '#d97706',
  reconnecting: '#d97706',
  offline: '#9ca3af',
};

export interface ConnectionStatusProps {
  /** Text per state; defaults to the state's name. */
  labels?: Partial<Record<OverallStatus, string>>;
  className?: string;
}

/** A dot and a word: connected, reconnecting or offline. */
export function ConnectionStatus({ labels, className }: ConnectionStatusProps) {
  const status = useHeraldStatus();
  return (
    <span
      role="status"
      data-status={status}
      className={className ?? 'herald-status'}
      style={{ display: 'inline-flex', alignItems: 'center', gap: '0.4em' }}
    >
      <span
        aria-hidden="true"
        style={{
          width: '0.6em',
          height: '0.6em',
          borderRadius: '50%',
          background: COLORS[status],
          display: 'inline-block',
        }}
      />
      {labels?.[status] ?? status}
    </span>
  );
}
