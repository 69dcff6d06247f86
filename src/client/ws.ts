import { HeraldClientError } from './errors.ts';
import {
  parseJson,
  type ConnectParams,
  type TransportConnection,
  type TransportEvents,
} from './transport.ts';

/** The subset of the WebSocket API used here: the browser's, Node 22's or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => unknown) | null;
  onmessage: ((ev: { data: unknown }) => unknown) | null;
  onclose: ((ev: { code: number; reason: string }) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

/** `https://h/.well-known/mercure` -> `wss://h/.well-known/mercure/ws` */
export function wsUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws`;
  url.search = '';
  return url.toString();
}

const FATAL_CLOSE: Record<number, string> = {
  1008: 'the hub closed the connection for bad frames',
  1009: 'a frame was too large for the hub',
  4401: 'the hub refused the token',
};

/**
 * One WebSocket connection: the token goes in the first frame (browsers cannot set headers on
 * a WebSocket), then one `subscribe` op with every topic, the resume cursor and the state
 * options (which each later `subscribe` op repeats, so added topics get their snapshot).
 */
export function connectWs(
  params: ConnectParams,
  events: TransportEvents,
  WS: WebSocketCtor,
): TransportConnection {
  const ws = new WS(wsUrl(params.hubUrl));
  let done = false;
  let opened = false;
  let tokenExpired = false;
  let lastError: HeraldClientError | undefined;
  let refs = 0;
  const finish = (error: HeraldClientError | undefined, expired = false): void => {
    if (done) return;
    done = true;
    if (ws.readyState <= 1) ws.close(1000);
    events.end(error, expired);
  };
  const send = (frame: object): void => {
    if (!done && ws.readyState === 1) ws.send(JSON.stringify(frame));
  };
  // The `topics` of the latest `subscribed` ack: the selectors a snapshot right after it covers.
  let acked: readonly string[] = params.topics;
  const d08 = params.dialect === 'draft-08';
  // Draft-08: the same ops, with the topics as `match` matchers (and `match_urlpattern`).
  const selectorFields = (topics: readonly string[], first: boolean): Record<string, unknown> =>
    d08
      ? {
          topics: [],
          match: topics,
          ...(first && params.patterns?.length ? { match_urlpattern: params.patterns } : {}),
        }
      : { topics };
  const subscribeFrame = (topics: readonly string[], first = false): Record<string, unknown> => {
    const frame: Record<string, unknown> = {
      op: 'subscribe',
      ...selectorFields(topics, first),
      ref: `s${++refs}`,
    };
    if (params.snapshot) frame['snapshot'] = true;
    if (params.throttleMs !== undefined) frame['throttle'] = params.throttleMs;
    return frame;
  };
  ws.onopen = () => {
    if (params.token) send({ op: 'auth', token: params.token });
    const frame = subscribeFrame(params.topics, true);
    if (params.lastEventId !== undefined) frame['lastEventId'] = params.lastEventId;
    send(frame);
  };
  ws.onmessage = (ev) => {
    if (done) return;
    const msg = parseJson(typeof ev.data === 'string' ? ev.data : String(ev.data)) as Record<string, unknown>;
    if (typeof msg !== 'object' || msg === null) return;
    switch (msg['op']) {
      case undefined:
        events.update({
          id: String(msg['id']),
          type: typeof msg['type'] === 'string' ? msg['type'] : undefined,
          data: String(msg['data']),
          topics: Array.isArray(msg['topics']) ? (msg['topics'] as string[]) : undefined,
        });
        return;
      case 'subscribed':
        if (Array.isArray(msg['topics'])) acked = msg['topics'] as string[];
        if (!opened) {
          opened = true;
          events.open();
        }
        return;
      case 'event': {
        const type = String(msg['type']);
        if (type === 'herald.token-expired') tokenExpired = true;
        events.hubEvent(type, msg['data'], type === 'herald.snapshot' ? acked : undefined);
        return;
      }
      case 'error': {
        const code = typeof msg['code'] === 'string' ? msg['code'] : undefined;
        const status =
          code === 'HERALD_ERR_UNAUTHORIZED' || code === 'HERALD_ERR_TOKEN_EXPIRED'
            ? 401
            : code === 'HERALD_ERR_FORBIDDEN_TOPIC'
              ? 403
              : 400;
        lastError = new HeraldClientError(`hub refused: ${String(msg['message'])}`, status, code);
        // A refused subscribe will not succeed by retrying it: stop.
        if (typeof msg['ref'] === 'string' && msg['ref'].startsWith('s')) finish(lastError);
        return;
      }
    }
  };
  ws.onerror = () => {};
  ws.onclose = (ev) => {
    if (done) return;
    if (ev.code === 4001 || tokenExpired) return finish(undefined, true);
    const fatal = FATAL_CLOSE[ev.code];
    if (fatal)
      return finish(
        lastError ?? new HeraldClientError(`${fatal} (${ev.reason})`, ev.code === 4401 ? 401 : 400),
      );
    finish(
      new HeraldClientError(
        opened
          ? `connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`
          : 'cannot open a WebSocket to the hub',
        0,
        ev.code === 1001 || ev.code === 1012 ? 'HERALD_ERR_SHUTTING_DOWN' : undefined,
      ),
    );
  };
  return {
    kind: 'ws',
    close() {
      done = true;
      if (ws.readyState <= 1) ws.close(1000);
    },
    // Before the socket is open there is nothing to send: the first `subscribe` reads the
    // current `params.topics` when it goes out.
    addTopics(topics) {
      if (topics.length) send(subscribeFrame(topics));
    },
    removeTopics(topics) {
      if (topics.length) send({ op: 'unsubscribe', ...selectorFields(topics, false) });
    },
  };
}
