import { createParser } from 'eventsource-parser';

export interface SseEvent {
  id: string | undefined;
  type: string | undefined;
  data: string;
}

/** A minimal SSE subscriber over fetch, recording everything it receives. */
export interface SseClient {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Comment lines received (heartbeats included). */
  comments: number;
  /** Resolves when the stream ends (server closed it, or `close()`). */
  ended: Promise<void>;
  /** Resolves once `n` events have arrived; rejects after `ms`. */
  waitForEvents(n: number, ms?: number): Promise<SseEvent[]>;
  /** Resolves once `ok(events)` holds; rejects after `ms`. */
  waitUntil(ok: (events: SseEvent[]) => boolean, ms?: number): Promise<SseEvent[]>;
  /** Resolves once `n` more comments than now have arrived; rejects after `ms`. */
  waitForComments(n: number, ms?: number): Promise<void>;
  close(): void;
}

export interface SseOptions {
  token?: string;
  lastEventId?: string;
}

/** Opens `url` as an event stream; resolves once the response headers are in. */
export async function openSse(url: string, options: SseOptions = {}): Promise<SseClient> {
  const abort = new AbortController();
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (options.token) headers['Authorization'] = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
  const res = await fetch(url, { headers, signal: abort.signal });
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  const client: SseClient = {
    status: res.status,
    headers: res.headers,
    events: [],
    comments: 0,
    ended: Promise.resolve(),
    waitForEvents(n, ms = 10_000) {
      return until(
        () => client.events.length >= n,
        ms,
        () => `got ${client.events.length} of ${n} events`,
      ).then(() => client.events);
    },
    waitUntil(ok, ms = 10_000) {
      return until(
        () => ok(client.events),
        ms,
        () => `condition not met after ${client.events.length} events`,
      ).then(() => client.events);
    },
    waitForComments(n, ms = 10_000) {
      const target = client.comments + n;
      return until(
        () => client.comments >= target,
        ms,
        () => `got ${client.comments} of ${target} comments`,
      );
    },
    close: () => abort.abort(),
  };
  function until(ok: () => boolean, ms: number, why: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (ok()) return resolve();
      const check = () => {
        if (!ok()) return;
        cleanup();
        resolve();
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(why()));
      }, ms);
      const cleanup = () => {
        clearTimeout(t);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  }
  const parser = createParser({
    onEvent: (e) => {
      client.events.push({ id: e.id, type: e.event, data: e.data });
      notify();
    },
    onComment: () => {
      client.comments++;
      notify();
    },
  });
  client.ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // aborted or cut: the stream simply ends
    }
  })();
  return client;
}
