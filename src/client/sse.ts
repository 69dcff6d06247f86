import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { HeraldClientError } from './errors.ts';
import {
  parseJson,
  type ConnectParams,
  type TransportConnection,
  type TransportEvents,
} from './transport.ts';

/** Hub events a subscriber listens for when it has to use the browser's EventSource. */
const HUB_EVENTS = [
  'herald.gap',
  'herald.token-expired',
  'herald.shutdown',
  'herald.slow-consumer',
  'herald.snapshot',
  'herald.state',
];

export interface SseOptions {
  /** fetch implementation; `false` forces the EventSource fallback. */
  fetch?: typeof fetch | false;
  /** EventSource implementation for the fallback (the browser's by default). */
  EventSource?: typeof EventSource;
  /** EventSource fallback only: the update types to listen for besides untyped ones. */
  types?: readonly string[];
  /** fetch streaming only: drop the connection (and retry) after this many ms without a byte. */
  idleTimeoutMs?: number;
}

export function subscribeUrl(
  params: ConnectParams,
  withQueryCursor: boolean,
  withQueryToken: boolean,
): string {
  const url = new URL(params.hubUrl);
  const d08 = params.dialect === 'draft-08';
  for (const t of params.topics) url.searchParams.append(d08 ? 'match' : 'topic', t);
  for (const p of params.patterns ?? []) url.searchParams.append('match_urlpattern', p);
  if (withQueryCursor && params.lastEventId !== undefined)
    url.searchParams.set(d08 ? 'last_event_id' : 'lastEventID', params.lastEventId);
  // Draft-08 forbids tokens in URLs: EventSource then relies on the hub's cookie.
  if (withQueryToken && params.token && !d08) url.searchParams.set('authorization', params.token);
  if (params.snapshot) url.searchParams.set('snapshot', '1');
  if (params.throttleMs !== undefined) url.searchParams.set('throttle', String(params.throttleMs));
  return url.toString();
}

/** Whether this runtime can read a fetch response as a stream. */
export function canStreamFetch(fetchImpl: typeof fetch | undefined): boolean {
  return (
    typeof fetchImpl === 'function' &&
    typeof ReadableStream !== 'undefined' &&
    typeof Response !== 'undefined' &&
    'body' in Response.prototype
  );
}

/** Opens one SSE connection: fetch streaming when possible (so it can send Authorization). */
export function connectSse(
  params: ConnectParams,
  events: TransportEvents,
  options: SseOptions,
): TransportConnection {
  const fetchImpl = options.fetch === false ? undefined : (options.fetch ?? globalThis.fetch);
  if (canStreamFetch(fetchImpl))
    return connectFetch(params, events, fetchImpl!.bind(globalThis), options.idleTimeoutMs ?? 0);
  const ES = options.EventSource ?? globalThis.EventSource;
  if (typeof ES !== 'function')
    throw new Error('herald: neither fetch streaming nor EventSource is available');
  return connectEventSource(params, events, ES, options.types ?? []);
}

function dispatch(msg: EventSourceMessage, events: TransportEvents): void {
  // A state change carries an id: it is an update (it moves the resume cursor).
  if (msg.event !== undefined && msg.event.startsWith('herald.') && msg.event !== 'herald.state') {
    events.hubEvent(msg.event, parseJson(msg.data));
    return;
  }
  if (msg.id === undefined) return;
  events.update({ id: msg.id, type: msg.event, data: msg.data, topics: undefined });
}

function connectFetch(
  params: ConnectParams,
  events: TransportEvents,
  fetchImpl: typeof fetch,
  idleTimeoutMs: number,
): TransportConnection {
  const abort = new AbortController();
  let done = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const finish = (error: HeraldClientError | undefined, tokenExpired = false): void => {
    if (done) return;
    done = true;
    clearTimeout(idle);
    abort.abort();
    events.end(error, tokenExpired);
  };
  // A half-open connection (sleeping laptop, proxy that dropped us) never errors by itself:
  // heartbeats are bytes too, so silence past the heartbeat interval means the link is dead.
  const arm = (): void => {
    if (idleTimeoutMs <= 0 || done) return;
    clearTimeout(idle);
    idle = setTimeout(
      () => finish(new HeraldClientError(`no data from the hub for ${idleTimeoutMs} ms`, 0)),
      idleTimeoutMs,
    );
  };
  arm();
  let tokenExpired = false;
  const parser = createParser({
    onEvent(msg) {
      if (done) return;
      if (msg.event === 'herald.token-expired') tokenExpired = true;
      dispatch(msg, events);
    },
    onRetry(ms) {
      if (!done) events.retry(ms);
    },
  });
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
  if (params.token) headers['Authorization'] = `Bearer ${params.token}`;
  // `fetch` refuses a header value above U+00FF (`заказ-1`): such a cursor goes in the query.
  const headerCursor = params.lastEventId !== undefined && /^[\x20-\x7e]*$/.test(params.lastEventId);
  if (headerCursor) headers['Last-Event-ID'] = params.lastEventId!;

  (async () => {
    let res: Response;
    try {
      res = await fetchImpl(subscribeUrl(params, !headerCursor, false), {
        headers,
        signal: abort.signal,
        cache: 'no-store',
        credentials: 'include',
      });
    } catch (e) {
      finish(new HeraldClientError(`cannot reach the hub: ${(e as Error).message}`, 0));
      return;
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      const retryAfter = Number(res.headers.get('retry-after'));
      finish(
        new HeraldClientError(
          `hub answered ${res.status}: ${text.trim() || res.statusText}`,
          res.ok ? 0 : res.status,
          res.headers.get('x-herald-error') ?? undefined,
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
        ),
      );
      return;
    }
    arm();
    events.open();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done: eof } = await reader.read();
        if (eof || done) break;
        arm();
        parser.feed(decoder.decode(value, { stream: true }));
      }
      finish(tokenExpired ? undefined : new HeraldClientError('the hub ended the stream', 0), tokenExpired);
    } catch (e) {
      finish(new HeraldClientError(`stream broken: ${(e as Error).message}`, 0));
    }
  })();

  return {
    kind: 'sse',
    close() {
      done = true;
      clearTimeout(idle);
      abort.abort();
    },
  };
}

function connectEventSource(
  params: ConnectParams,
  events: TransportEvents,
  ES: typeof EventSource,
  types: readonly string[],
): TransportConnection {
  // EventSource cannot send headers: the token goes as the `authorization` query parameter
  // (or a cookie the page already has), the cursor as `lastEventID`.
  const es = new ES(subscribeUrl(params, true, true), { withCredentials: true });
  let done = false;
  const finish = (error: HeraldClientError | undefined, tokenExpired = false): void => {
    if (done) return;
    done = true;
    es.close();
    events.end(error, tokenExpired);
  };
  const onMessage = (e: MessageEvent): void => {
    if (done) return;
    if (e.type.startsWith('herald.') && e.type !== 'herald.state') {
      events.hubEvent(e.type, parseJson(String(e.data)));
      if (e.type === 'herald.token-expired') finish(undefined, true);
      return;
    }
    if (!e.lastEventId) return;
    events.update({
      id: e.lastEventId,
      type: e.type === 'message' ? undefined : e.type,
      data: String(e.data),
      topics: undefined,
    });
  };
  es.onopen = () => {
    if (!done) events.open();
  };
  es.onmessage = onMessage;
  for (const t of [...HUB_EVENTS, ...types]) es.addEventListener(t, onMessage as EventListener);
  // EventSource hides the status of a failed request: reconnect under our own backoff.
  es.onerror = () => finish(new HeraldClientError('EventSource connection failed or ended', 0));
  return {
    kind: 'sse',
    close() {
      done = true;
      es.close();
    },
  };
}
