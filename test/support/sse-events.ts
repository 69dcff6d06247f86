import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** An SSE subscription read with fetch streaming, for tests: events in order, wait by predicate. */
export interface SseStream {
  status: number;
  events: EventSourceMessage[];
  /** Resolves with the first event (from index `from`) matching `pred`; rejects after `ms`. */
  waitFor(pred: (e: EventSourceMessage) => boolean, ms?: number, from?: number): Promise<EventSourceMessage>;
  close(): void;
}

export async function openSse(url: string, token?: string): Promise<SseStream> {
  const ac = new AbortController();
  const res = await fetch(url, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: ac.signal,
  });
  const events: EventSourceMessage[] = [];
  const waiters = new Set<() => void>();
  const stream: SseStream = {
    status: res.status,
    events,
    waitFor(pred, ms = 5000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          for (let i = from; i < events.length; i++)
            if (pred(events[i]!)) {
              clearTimeout(timer);
              waiters.delete(check);
              resolve(events[i]!);
              return true;
            }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${ms} ms (got ${events.length})`));
        }, ms);
        if (!check()) waiters.add(check);
      });
    },
    close: () => ac.abort(),
  };
  if (!res.ok || !res.body) return stream;
  const parser = createParser({
    onEvent(e) {
      events.push(e);
      for (const w of [...waiters]) w();
    },
  });
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}
