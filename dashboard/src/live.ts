import { useCallback, useEffect, useRef, useState } from 'react';
import { subscribe, type ConnectionStatus, type HeraldClientError, type HeraldUpdate } from 'herald/client';
import { STATS_EVENT, emptySeries, parseStats, withHistory, type RateSeries, type Stats } from './stats.ts';
import { liveSelectors } from './dialect.ts';

/** One update in the live tail. `seq` is a local counter, stable as a React key. */
export interface TailItem {
  seq: number;
  id: string;
  type: string | undefined;
  /** The update's topics (canonical first), as the WebSocket stream carries them. */
  topics: string[];
  data: string;
  receivedAt: number;
}

/** How many tail rows are kept; older ones fall off. */
export const TAIL_LIMIT = 200;
/** Updates are batched into one render at most this often, whatever the publish rate. */
const TAIL_FLUSH_MS = 100;
/** A single row never holds more than this much text (a 1 MB update must not stall the page). */
const TAIL_DATA_CHARS = 4_000;

export interface Tail {
  items: TailItem[];
  paused: boolean;
  /** Updates received since pausing, not yet shown. */
  waiting: number;
  push(update: HeraldUpdate): void;
  setPaused(paused: boolean): void;
  clear(): void;
}

/** The tail's rows, with batching and a pause that keeps counting. */
export function useTail(): Tail {
  const [items, setItems] = useState<TailItem[]>([]);
  const [paused, setPausedState] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const buffer = useRef<TailItem[]>([]);
  const waitingRef = useRef(0);
  const pausedRef = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const seq = useRef(0);

  const flush = useCallback(() => {
    timer.current = null;
    if (pausedRef.current) {
      setWaiting(waitingRef.current);
      return;
    }
    const fresh = buffer.current.reverse();
    buffer.current = [];
    setItems((previous) => [...fresh, ...previous].slice(0, TAIL_LIMIT));
  }, []);

  const push = useCallback(
    (update: HeraldUpdate) => {
      seq.current += 1;
      const data =
        update.data.length > TAIL_DATA_CHARS ? `${update.data.slice(0, TAIL_DATA_CHARS)}…` : update.data;
      buffer.current.push({
        seq: seq.current,
        id: update.id,
        type: update.type,
        topics: update.topics ?? [],
        data,
        receivedAt: Date.now(),
      });
      if (buffer.current.length > TAIL_LIMIT) buffer.current.splice(0, buffer.current.length - TAIL_LIMIT);
      if (pausedRef.current) waitingRef.current += 1;
      timer.current ??= setTimeout(flush, TAIL_FLUSH_MS);
    },
    [flush],
  );

  const setPaused = useCallback(
    (next: boolean) => {
      pausedRef.current = next;
      setPausedState(next);
      if (!next) {
        waitingRef.current = 0;
        setWaiting(0);
        flush();
      }
    },
    [flush],
  );

  const clear = useCallback(() => {
    buffer.current = [];
    waitingRef.current = 0;
    setWaiting(0);
    setItems([]);
  }, []);

  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );

  return { items, paused, waiting, push, setPaused, clear };
}

export interface LiveOptions {
  hubUrl: string;
  token: string | null;
  /** Tail selector; the stats topic is always subscribed as well. */
  selector: string;
  enabled: boolean;
  /** Bump to reopen a stream the hub closed for good. */
  generation: number;
  onOpen(): void;
  /** The first `herald.stats` event of a stream arrived: the token is an admin token. */
  onStats(): void;
  /** The hub refused the subscription for good (bad token, bad selector...). */
  onRefused(error: HeraldClientError): void;
  onUpdate(update: HeraldUpdate): void;
}

export interface Live {
  status: ConnectionStatus;
  error: HeraldClientError | undefined;
  stats: Stats | null;
  series: RateSeries;
}

/** Stats come every second and heartbeats every 15 s by default: this much silence is a dead link. */
const SILENCE_LIMIT_MS = 45_000;

/**
 * One stream (the client SDK's `subscribe`: a WebSocket whose first frame carries the token,
 * or SSE over fetch streaming with an `Authorization` header; never the token in a URL)
 * carrying both the stats topic, whose `herald.stats`
 * events come through the SDK's hub-event callback, and the tail selector. Changing the token
 * or the selector opens a fresh stream; callbacks may change identity freely.
 */
export function useLive(options: LiveOptions): Live {
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const [error, setError] = useState<HeraldClientError | undefined>();
  const [stats, setStats] = useState<Stats | null>(null);
  const [series, setSeries] = useState<RateSeries>(emptySeries);
  const callbacks = useRef(options);
  useEffect(() => {
    callbacks.current = options;
  });

  const { hubUrl, token, selector, enabled, generation } = options;
  useEffect(() => {
    if (!enabled) return;
    const { dialect, topics, patterns } = liveSelectors(token, selector);
    let statsSeen = false;
    // The SDK reports changes only; a fresh stream starts as connecting.
    setStatus('connecting');
    setError(undefined);
    const subscription = subscribe({
      url: hubUrl,
      topics,
      dialect,
      ...(patterns.length > 0 ? { patterns } : {}),
      ...(token ? { token } : {}),
      // WebSocket first: each update names its topics (SSE does not), so the tail can show
      // them. Where WebSockets never get through (a proxy) the SDK falls back
      // to SSE after a few tries, and the tail's topic column reads "–".
      transport: 'auto',
      idleTimeoutMs: SILENCE_LIMIT_MS,
      backoff: { initialMs: 500, maxMs: 15_000 },
      onUpdate(update) {
        callbacks.current.onUpdate(update);
      },
      onEvent(type, data) {
        if (type !== STATS_EVENT) return;
        const next = parseStats(data);
        if (!next) return;
        if (!statsSeen) {
          statsSeen = true;
          callbacks.current.onStats();
        }
        setStats(next);
        setSeries((previous) => withHistory(previous, next));
      },
      onStatus(next, failure) {
        setStatus(next);
        setError(failure);
        if (next === 'open') callbacks.current.onOpen();
        else if (next === 'closed' && failure) callbacks.current.onRefused(failure);
      },
    });
    return () => subscription.close();
  }, [hubUrl, token, selector, enabled, generation]);

  return { status, error, stats, series };
}
