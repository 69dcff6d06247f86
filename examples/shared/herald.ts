// The Herald side of every example: an in-process hub, a publisher and a token minter.
// In production the hub is `npx herald serve` and the app only needs HERALD_URL and the key.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mintToken } from '../../src/auth/mint.ts';
import type { HeraldConfig } from '../../src/config/definitions.ts';
import { startHerald, type RunningHerald } from '../../src/start.ts';

/** What the app sends to the hub for one update (the JSON publish body). */
export interface Publication {
  topics: string[];
  type?: string;
  data?: unknown;
  private?: boolean;
  /** State topics (docs/state.md): keep `data` as the topic's current state. */
  retain?: boolean;
  /** State topics: a JSON merge patch on the topic's state (`$inc` adds to counters). */
  patch?: unknown;
}

export interface ExampleHub {
  herald: RunningHerald;
  /**
   * Publishes `updates` in one request, after everything committed before, and only then runs
   * `apply` (the change to the app's own state). So `cursor` always marks exactly where the
   * app's state ends: a page that renders a snapshot and subscribes from `cursor` neither
   * misses nor repeats an update.
   */
  commit(updates: Publication[], apply: () => void): Promise<void>;
  /** Id of the last committed update (`earliest` before the first). */
  readonly cursor: string;
  /**
   * `cursor` for one subscriber: the id of the last committed update it may see (public, or
   * private on a topic `sees` accepts), `earliest` when none is recent. The hub answers a
   * resume from a private id the subscriber may not see as an unknown id (a gap), so as not
   * to reveal it exists: a page must resume from an update of its own.
   */
  cursorFor(sees: (topic: string) => boolean): string;
  /** Signs a subscriber token for one user of the app. */
  subscriberToken(subject: string, subscribe: string[], payload?: unknown): Promise<string>;
  /** The hub's subscribe URL as the browser on `req` reaches it (same host name, the hub's port). */
  hubUrl(req: IncomingMessage): string;
  close(): Promise<void>;
}

/**
 * Starts a hub that pages served from `appOrigin` may subscribe to with the
 * `mercureAuthorization` cookie (CORS with credentials for that origin only).
 */
export async function startExampleHub(
  appOrigin: string,
  config: Partial<HeraldConfig> = {},
): Promise<ExampleHub> {
  // `jwtKey` lets the app mint its workers' tokens, and a restarted hub accept the old ones.
  const secret = config.jwtKey ?? randomBytes(32).toString('hex');
  const app = new URL(appOrigin);
  const herald = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: secret,
    corsOrigins: [app.origin, `http://localhost:${app.port}`],
    logLevel: process.env['HERALD_EXAMPLE_LOGS'] ?? 'warn',
    ...config,
  });
  const publisherToken = await mintToken({ secret, publish: ['*'], subject: 'example-app' });
  let cursor = 'earliest';
  // Recent commits, newest last, as many as the hub's history keeps (older ones cannot be resumed from).
  const recent: { id: string; topics: string[]; private: boolean }[] = [];
  const keep = config.history ?? 1000;
  let queue = Promise.resolve();
  async function publish(updates: Publication[]): Promise<string[]> {
    const res = await fetch(`${herald.url}${herald.config.path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${publisherToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(updates),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`hub refused the update (${res.status}): ${body}`);
    return body.split('\n');
  }
  return {
    herald,
    get cursor() {
      return cursor;
    },
    commit(updates, apply) {
      const next = queue.then(async () => {
        const ids = await publish(updates);
        apply();
        cursor = ids.at(-1) ?? cursor;
        updates.forEach((u, i) =>
          recent.push({ id: ids[i]!, topics: u.topics, private: u.private === true }),
        );
        if (recent.length > keep) recent.splice(0, recent.length - keep);
      });
      queue = next.catch(() => undefined);
      return next;
    },
    cursorFor(sees) {
      for (let i = recent.length - 1; i >= 0; i--) {
        const c = recent[i]!;
        if (!c.private || c.topics.some(sees)) return c.id;
      }
      return 'earliest';
    },
    subscriberToken: (subject, subscribe, payload) =>
      mintToken({ secret, subject, subscribe, payload, ttl: '12h' }),
    hubUrl(req) {
      const host = URL.parse(`http://${req.headers.host}`)?.hostname || '127.0.0.1';
      return `http://${host}:${herald.port}${herald.config.path}`;
    },
    close: () => herald.close(),
  };
}

/** The cookie that carries a subscriber token to the hub (EventSource cannot set headers). */
export function hubCookie(token: string, hubPath = '/.well-known/mercure'): string {
  return `mercureAuthorization=${token}; Path=${hubPath}; HttpOnly; SameSite=Strict`;
}
