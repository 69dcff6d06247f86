/**
 * The dashboard's only network code: dashboard config, one SSE subscription (fetch streaming,
 * so the admin token travels as an `Authorization` header and never in a URL), and publish.
 *
 * The shape of `subscribe` deliberately matches the planned `herald/client` SDK
 * (`subscribe({ url, topics, token, onUpdate, onStatus })`) so this file can be replaced by
 * a thin re-export once the SDK lands.
 */
import { createParser } from 'eventsource-parser';

/** Connection state, as in the client SDK. */
export type HubStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** One SSE event as the hub sent it. `type` is the SSE `event:` field, if any. */
export interface HubUpdate {
  id: string;
  type: string | undefined;
  data: string;
}

/** An HTTP refusal (or a network failure, `status` 0) with the hub's one-line reason. */
export class HubError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HubError';
    this.status = status;
  }
}

/** What `GET /dashboard/config.json` answers. */
export interface DashboardConfig {
  dev: boolean;
  hubUrl: string;
  /** Dev hubs hand the dashboard an admin token so nobody has to paste one. */
  token?: string | undefined;
}

export interface SubscribeOptions {
  /** Hub endpoint, e.g. `/.well-known/mercure`. */
  url: string;
  /** Topic selectors (`topic=` query parameters). */
  topics: readonly string[];
  /** Bearer token; omitted when the hub runs in dev mode. */
  token?: string | null | undefined;
  /** Resume point for the first connection. Later reconnections resume from the last id seen. */
  lastEventId?: string | undefined;
  onUpdate(update: HubUpdate): void;
  /**
   * Called on every state change. `error` explains why the stream is reconnecting or closed;
   * `closed` with an error is final (401, 403, 400...): the caller must change something first.
   */
  onStatus(status: HubStatus, error?: HubError): void;
}

export interface Subscription {
  close(): void;
}

/** Refusals that retrying cannot fix. */
const FATAL_STATUS = new Set([400, 401, 403, 404, 405, 413]);
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
/** Stats arrive every second and heartbeats every 15 s by default, so this much silence means a dead link. */
const SILENCE_LIMIT_MS = 45_000;
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

function authHeaders(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The hub answers refusals with a one-line text reason; keep it one short line whatever comes. */
async function reasonOf(res: Response): Promise<string> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body is only a courtesy; the status code is what matters.
  }
  const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  return line ? line.slice(0, 300) : `${res.status} ${res.statusText}`.trim();
}

function retryAfterMs(res: Response): number | undefined {
  const value = res.headers.get('Retry-After');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Full-jitter exponential backoff; a server `retry:` or `Retry-After` sets the floor. */
function backoffMs(attempt: number, floorMs: number | undefined): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
  const jittered = Math.random() * ceiling;
  return floorMs === undefined ? jittered : Math.max(floorMs, jittered);
}

function subscribeUrl(base: string, topics: readonly string[], lastEventId: string | undefined): string {
  const url = new URL(base, window.location.href);
  for (const topic of topics) url.searchParams.append('topic', topic);
  if (lastEventId !== undefined) url.searchParams.set('lastEventID', lastEventId);
  return url.toString();
}

/**
 * Opens an SSE subscription and keeps it open: reconnects with full-jitter exponential
 * backoff, honours `retry:` and `Retry-After`, and resumes from the last event id seen.
 */
export function subscribe(options: SubscribeOptions): Subscription {
  let closed = false;
  let controller: AbortController | null = null;
  let wake: (() => void) | null = null;
  let lastEventId = options.lastEventId;
  let serverRetryMs: number | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const stream = async (body: ReadableStream<Uint8Array>, abort: AbortController): Promise<void> => {
    const parser = createParser({
      maxBufferSize: MAX_EVENT_CHARS,
      onEvent(event) {
        if (event.id !== undefined) lastEventId = event.id;
        options.onUpdate({ id: event.id ?? '', type: event.event, data: event.data });
      },
      onRetry(ms) {
        serverRetryMs = ms;
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let silence = setTimeout(() => abort.abort(), SILENCE_LIMIT_MS);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENCE_LIMIT_MS);
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      clearTimeout(silence);
    }
  };

  const run = async () => {
    let attempt = 0;
    let error: HubError | undefined;
    while (!closed) {
      options.onStatus(attempt === 0 ? 'connecting' : 'reconnecting', error);
      const abort = new AbortController();
      controller = abort;
      let floorMs = serverRetryMs;
      try {
        const res = await fetch(subscribeUrl(options.url, options.topics, lastEventId), {
          headers: { Accept: 'text/event-stream', ...authHeaders(options.token) },
          cache: 'no-store',
          credentials: 'same-origin',
          signal: abort.signal,
        });
        if (!res.ok) {
          const failure = new HubError(res.status, await reasonOf(res));
          if (FATAL_STATUS.has(res.status)) {
            closed = true;
            options.onStatus('closed', failure);
            return;
          }
          floorMs = retryAfterMs(res) ?? floorMs;
          throw failure;
        }
        if (!res.body) throw new HubError(0, 'the hub sent no stream');
        attempt = 0;
        error = undefined;
        options.onStatus('open');
        await stream(res.body, abort);
        error = new HubError(0, 'the stream ended');
      } catch (err) {
        if (closed) return;
        error =
          err instanceof HubError
            ? err
            : new HubError(
                0,
                abort.signal.aborted ? 'no data from the hub for too long' : 'cannot reach the hub',
              );
      }
      if (closed) return;
      attempt += 1;
      await sleep(backoffMs(attempt, floorMs));
    }
  };

  void run();
  return {
    close() {
      if (closed) return;
      closed = true;
      controller?.abort();
      wake?.();
      options.onStatus('closed');
    },
  };
}

/** A test update from the publish form. */
export interface PublishRequest {
  url: string;
  token?: string | null | undefined;
  topic: string;
  data: string;
  type?: string | undefined;
  private?: boolean | undefined;
}

/** `POST`s one update, form-encoded; resolves to the id the hub assigned. */
export async function publish(request: PublishRequest): Promise<string> {
  const form = new URLSearchParams();
  form.append('topic', request.topic);
  form.append('data', request.data);
  if (request.type) form.append('type', request.type);
  if (request.private) form.append('private', 'on');
  let res: Response;
  try {
    res = await fetch(new URL(request.url, window.location.href), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...authHeaders(request.token) },
      body: form,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new HubError(0, 'cannot reach the hub');
  }
  if (!res.ok) throw new HubError(res.status, await reasonOf(res));
  return (await res.text()).trim();
}

/** Reads the dashboard config the hub serves next to the app. */
export async function loadConfig(baseUrl: string): Promise<DashboardConfig> {
  let res: Response;
  try {
    res = await fetch(new URL('config.json', new URL(baseUrl, window.location.href)), { cache: 'no-store' });
  } catch {
    throw new HubError(0, 'cannot reach the hub');
  }
  if (!res.ok) throw new HubError(res.status, await reasonOf(res));
  const raw: unknown = await res.json();
  if (typeof raw !== 'object' || raw === null) throw new HubError(0, 'config.json is not an object');
  const { dev, hubUrl, token } = raw as Record<string, unknown>;
  return {
    dev: dev === true,
    hubUrl: typeof hubUrl === 'string' && hubUrl !== '' ? hubUrl : '/.well-known/mercure',
    token: dev === true && typeof token === 'string' && token !== '' ? token : undefined,
  };
}
