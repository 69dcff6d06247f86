import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { HeraldClientError } from './errors.ts';

export interface PublisherOptions {
  /** Hub URL, e.g. `https://example.com/.well-known/mercure`. */
  url: string;
  /** Publisher JWT, or a function returning one (called per request, so it may refresh). */
  token: string | (() => string | Promise<string>);
  /** Most updates per request (the hub accepts up to 1000). Default 100. */
  maxBatch?: number;
  /** Ms to wait for more calls before sending a batch. Default 0: what was queued in the same tick. */
  lingerMs?: number;
  /** Updates waiting to be sent before `publish` refuses more. Default 10 000. */
  maxQueue?: number;
  /**
   * Attempts for a batch that failed with a network error, a timeout, 429 or 5xx. Default 5.
   * Every attempt of a batch carries the same `Idempotency-Key`, so a hub that stored the
   * first try (its answer lost) answers the retry with the same ids and does not publish
   * again (within its `--idempotency-window`, 2 minutes by default).
   */
  retries?: number;
  /** An attempt not answered within this many ms is abandoned and retried. Default 10 000. */
  timeoutMs?: number;
  backoff?: BackoffOptions;
  fetch?: typeof fetch;
}

export interface PublishOptions {
  /** More topics for the same update (the first argument is the canonical one). */
  alsoTopics?: string[];
  id?: string;
  type?: string;
  private?: boolean;
  /** SSE `retry:` for subscribers, in ms. */
  retry?: number;
}

export interface HeraldPublisher {
  /**
   * Queues one update; many calls are sent together as one JSON batch request. Resolves with
   * the id the hub assigned, or rejects with a HeraldClientError (status, code and reason).
   */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string>;
  /** Resolves once everything queued so far has been answered. */
  flush(): Promise<void>;
  /** Sends what is queued, then refuses further publishes. */
  close(): Promise<void>;
}

interface Item {
  body: Record<string, unknown>;
  resolve: (id: string) => void;
  reject: (e: HeraldClientError) => void;
}

class Publisher implements HeraldPublisher {
  readonly #o: PublisherOptions;
  readonly #fetch: typeof fetch;
  #queue: Item[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;

  constructor(options: PublisherOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    if (this.#closed) return Promise.reject(new HeraldClientError('publisher is closed', 0));
    if (this.#queue.length >= (this.#o.maxQueue ?? 10_000))
      return Promise.reject(new HeraldClientError('publish queue is full: the hub is not keeping up', 0));
    const body: Record<string, unknown> = {
      topics: [topic, ...(options.alsoTopics ?? [])],
      data: typeof data === 'string' ? data : JSON.stringify(data),
    };
    if (options.id !== undefined) body['id'] = options.id;
    if (options.type !== undefined) body['type'] = options.type;
    if (options.private) body['private'] = true;
    if (options.retry !== undefined) body['retry'] = options.retry;
    return new Promise((resolve, reject) => {
      this.#queue.push({ body, resolve, reject });
      this.#schedule();
    });
  }

  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#sending) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#pump();
      }
      await this.#sending;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #schedule(): void {
    if (this.#timer || this.#sending) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, this.#o.lingerMs ?? 0);
  }

  /** Sends batches one after another, so updates reach the hub in the order they were published. */
  #pump(): void {
    if (this.#sending || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, Math.min(this.#o.maxBatch ?? 100, 1000));
    this.#sending = this.#sendBatch(batch).finally(() => {
      this.#sending = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #sendBatch(batch: Item[]): Promise<void> {
    try {
      const ids = await this.#post(batch.map((i) => i.body));
      batch.forEach((item, n) => item.resolve(ids[n]!));
    } catch (e) {
      const error = e as HeraldClientError;
      if (batch.length > 1 && [400, 403, 413].includes(error.status)) {
        // One bad update refuses the whole batch: send them one by one so only it fails.
        for (const item of batch) await this.#sendBatch([item]);
        return;
      }
      for (const item of batch) item.reject(error);
    }
  }

  async #post(bodies: Record<string, unknown>[]): Promise<string[]> {
    const attempts = Math.max(1, this.#o.retries ?? 5);
    // One key for every attempt of this batch: the hub recognises the retries.
    const idempotencyKey = globalThis.crypto.randomUUID();
    for (let attempt = 0; ; attempt++) {
      let error: HeraldClientError;
      try {
        const token = typeof this.#o.token === 'function' ? await this.#o.token() : this.#o.token;
        const res = await this.#fetch(this.#o.url, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/json',
            'Idempotency-Key': idempotencyKey,
          },
          body: JSON.stringify(bodies),
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
        });
        const text = await res.text();
        if (res.ok) {
          const ids = text.split('\n');
          if (ids.length !== bodies.length)
            throw new HeraldClientError(`hub answered ${ids.length} ids for ${bodies.length} updates`, 502);
          return ids;
        }
        const retryAfter = Number(res.headers.get('retry-after'));
        error = new HeraldClientError(
          `publish refused (${res.status}): ${text.trim() || res.statusText}`,
          res.status,
          res.headers.get('x-herald-error') ?? undefined,
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
        );
      } catch (e) {
        error =
          e instanceof HeraldClientError
            ? e
            : new HeraldClientError(`cannot reach the hub at ${this.#o.url}: ${causeOf(e)}`, 0);
      }
      if (!error.retryable || attempt + 1 >= attempts) throw error;
      let delay = backoffDelay(attempt, this.#o.backoff);
      if (error.retryAfter !== undefined) delay = Math.max(delay, error.retryAfter * 1000);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

/**
 * A publisher for workers and services: batches calls into JSON batch requests over a
 * keep-alive connection, retries network failures, timeouts, 429 and 5xx with backoff. Each
 * batch carries an `Idempotency-Key` kept across its retries, so a retried request whose
 * first try reached the hub is not published twice (docs/production.md).
 */
export function createPublisher(options: PublisherOptions): HeraldPublisher {
  return new Publisher(options);
}
