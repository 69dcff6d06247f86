import { WebSocket, type RawData } from 'ws';
import type { Principal } from '../auth/principal.ts';
import type { AdmissionTicket } from '../hub/limits.ts';
import type { ClientInfo, Subscription } from '../hub/subscription.ts';
import { checkThrottle } from '../hub/conflation.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { MatcherSpec } from '../protocol/selector.ts';
import { WsCloseCode, type WsClientFrame, type WsRef } from '../protocol/ws.ts';
import { WsSink } from '../transport/ws.ts';
import type { HttpContext } from './context.ts';
import { jsonPublishInput } from './publish-body.ts';

/** Bad frames tolerated on one connection before it is closed with 1008. */
export const MAX_BAD_FRAMES = 10;
/** Frames received but not yet answered; more means the client does not wait for replies. */
export const MAX_OPS_IN_FLIGHT = 64;

/** A `ws` socket that knows its Herald connection, so listeners can be module-level functions. */
export class HeraldSocket extends WebSocket {
  connection?: WsConnection;
}

/**
 * The state of one WebSocket client: its token, its single hub Subscription (created by the
 * first `subscribe` op, widened and narrowed by later ones) and its frame accounting. Ops are
 * handled one after another, in arrival order, so replies come back in order too.
 */
export class WsConnection {
  readonly ws: HeraldSocket;
  readonly sink: WsSink;
  readonly requestId: string;
  readonly #ctx: HttpContext;
  #token: string | undefined;
  #asSubscriber: Promise<Principal> | undefined;
  #asPublisher: Promise<Principal> | undefined;
  #sub: Subscription | undefined;
  #chain: Promise<void> = Promise.resolve();
  #framesSeen = 0;
  #inFlight = 0;
  #badFrames = 0;
  #closed = false;
  readonly #client: ClientInfo;
  /** Its place under the hub's connection caps, held from the upgrade to the close. */
  readonly #seat: AdmissionTicket;
  /** Closes the socket unless it subscribed (or may publish) by then. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Cleared by each ping, set by each pong; the registry cuts peers that stay silent. */
  alive = true;

  constructor(
    ws: HeraldSocket,
    ctx: HttpContext,
    client: { requestId: string; ip: string },
    token: string | undefined,
    verified: { subscriber?: Promise<Principal>; publisher?: Promise<Principal> },
    seat: AdmissionTicket,
  ) {
    this.ws = ws;
    this.#ctx = ctx;
    this.#seat = seat;
    const ms = ctx.options.wsSubscribeTimeoutMs;
    if (ms > 0) {
      this.#deadline = setTimeout(() => void this.#checkDeadline(ms), ms);
      this.#deadline.unref();
    }
    this.requestId = client.requestId;
    this.#client = client;
    this.#token = token;
    this.#asSubscriber = verified.subscriber;
    this.#asPublisher = verified.publisher;
    this.sink = new WsSink(ws, {
      maxBufferedBytes: ctx.options.maxBufferedBytes,
      onOverflow: () => {
        if (this.#sub) ctx.hub.unsubscribe(this.#sub, 'slow-consumer');
        else ws.terminate();
      },
    });
    ws.connection = this;
  }

  get subscription(): Subscription | undefined {
    return this.#sub;
  }

  onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed || this.sink.ended) return;
    const first = this.#framesSeen++ === 0;
    if (this.#inFlight >= MAX_OPS_IN_FLIGHT) {
      this.sink.closeSocket(WsCloseCode.policy, `more than ${MAX_OPS_IN_FLIGHT} frames awaiting a reply`);
      return;
    }
    let raw: RawFrame;
    let frame: WsClientFrame;
    try {
      raw = readFrame(data, isBinary);
    } catch (e) {
      this.#refuse(e, undefined);
      return;
    }
    try {
      frame = checkFrame(raw);
    } catch (e) {
      // The ref was valid: echo it, so the client knows which of its ops was refused.
      this.#refuse(e, raw['ref'] as WsRef | undefined);
      return;
    }
    if (frame.op === 'auth' && !first) {
      this.#refuse(
        new HeraldError(ErrorCode.badRequest, '"auth" is only allowed as the first frame'),
        frame.ref,
      );
      return;
    }
    this.#inFlight++;
    this.#chain = this.#chain
      .then(() => this.#handle(frame))
      .catch((e: unknown) => this.#refuse(e, frame.ref))
      // Answering the refusal failed too (the socket broke): the chain must go on, not reject.
      .catch((e: unknown) =>
        this.#ctx.logger.error({ requestId: this.requestId, err: e }, 'ws refusal failed'),
      )
      .finally(() => {
        this.#inFlight--;
      });
  }

  async #handle(frame: WsClientFrame): Promise<void> {
    if (this.#closed) return;
    const hub = this.#ctx.hub;
    // The token was verified once; its `exp` is checked again before every op, as every
    // HTTP request checks it.
    if (frame.op !== 'auth') await this.#assertNotExpired();
    switch (frame.op) {
      case 'auth': {
        this.#token = frame.token;
        this.#asSubscriber = this.#ctx.authorizer.authenticate(frame.token, 'subscriber');
        this.#asPublisher = this.#ctx.authorizer.authenticate(frame.token, 'publisher');
        await acceptedByEither(this.#asSubscriber, this.#asPublisher);
        this.sink.reply(withRef({ op: 'authenticated' }, frame.ref));
        return;
      }
      case 'subscribe': {
        const principal = await this.#subscriber();
        const topics = [...new Set(frame.topics)];
        const matchers = wsMatchers(frame);
        this.sink.ref = frame.ref;
        try {
          if (!this.#sub) {
            const sub = await hub.subscribe({
              selectors: topics,
              matchers,
              principal,
              sink: this.sink,
              client: this.#client,
              seated: true,
              ...(frame.lastEventId !== undefined ? { lastEventId: frame.lastEventId } : {}),
              ...(frame.snapshot ? { snapshot: true } : {}),
              ...(frame.throttle !== undefined ? { throttleMs: frame.throttle } : {}),
            });
            this.#sub = sub;
            this.#clearDeadline();
            // The socket may have gone while history was read.
            if (this.#closed) hub.unsubscribe(sub, 'client');
            else
              this.#ctx.logger.info(
                {
                  event: 'subscribe',
                  transport: 'ws',
                  requestId: this.requestId,
                  subscriber: sub.id,
                  subject: principal.subject,
                  selectors: topics,
                  resume: frame.lastEventId !== undefined,
                },
                'subscription opened',
              );
          } else
            await hub.addSelectors(
              this.#sub,
              topics,
              frame.lastEventId,
              frame.snapshot,
              frame.throttle,
              matchers,
            );
        } finally {
          this.sink.ref = undefined;
        }
        return;
      }
      case 'unsubscribe': {
        const removed = this.#sub
          ? hub.removeSelectors(this.#sub, [...frame.topics, ...wsMatchers(frame).map((m) => m.match)])
          : [];
        this.sink.reply(withRef({ op: 'unsubscribed', topics: removed }, frame.ref));
        return;
      }
      case 'publish': {
        const principal = await this.#publisher();
        const { op: _op, ref: _ref, ...fields } = frame;
        const [stored] = await hub.publish([jsonPublishInput(fields)], principal, this.#client);
        this.sink.reply(withRef({ op: 'published', id: stored!.id }, frame.ref));
        return;
      }
    }
  }

  /**
   * The subscribe deadline passed: a socket that has neither a subscription nor a token that
   * may publish is holding a descriptor for nothing (an idle-socket flood): close it, 4408.
   */
  async #checkDeadline(ms: number): Promise<void> {
    this.#deadline = undefined;
    if (this.#closed || this.#sub) return;
    const [publisher] = await Promise.allSettled([this.#asPublisher ?? Promise.reject(new Error('none'))]);
    if (publisher.status === 'fulfilled' || this.#closed || this.#sub) return;
    this.#ctx.hub.recordRefusal('ws-subscribe-timeout');
    this.sink.closeSocket(
      WsCloseCode.subscribeTimeout,
      `no subscription within ${ms} ms of connecting; send "subscribe" right after connecting`,
    );
  }

  #clearDeadline(): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** Throws `token-expired` when the connection's token (either role) is past its `exp`. */
  async #assertNotExpired(): Promise<void> {
    const verified = [this.#asSubscriber, this.#asPublisher].filter((p) => p !== undefined);
    for (const result of await Promise.allSettled(verified)) {
      if (result.status === 'fulfilled' && isExpired(result.value))
        throw new HeraldError(ErrorCode.tokenExpired, 'token expired; reconnect with a fresh token');
    }
  }

  #subscriber(): Promise<Principal> {
    return (this.#asSubscriber ??= this.#ctx.authorizer.authenticate(this.#token, 'subscriber'));
  }

  #publisher(): Promise<Principal> {
    return (this.#asPublisher ??= this.#ctx.authorizer.authenticate(this.#token, 'publisher'));
  }

  /** Answers a refused frame; auth failures close, repeated bad input closes with 1008. */
  #refuse(e: unknown, ref: WsRef | undefined): void {
    const error = isHeraldError(e) ? e : undefined;
    if (!error) this.#ctx.logger.error({ requestId: this.requestId, err: e }, 'unhandled error in ws op');
    const herr = error ?? new HeraldError(ErrorCode.internal, 'internal error');
    this.#ctx.hub.recordRefusal(herr.code);
    this.sink.reply(withRef({ op: 'error', code: herr.code, message: herr.message }, ref));
    if (herr.code === ErrorCode.tokenExpired) {
      // As over SSE: a `herald.token-expired` event, then close 4001.
      if (this.#sub && !this.#sub.closed) this.#ctx.hub.unsubscribe(this.#sub, 'token-expired');
      else this.sink.close('token-expired');
      return;
    }
    if (herr.status === 401) {
      this.sink.closeSocket(WsCloseCode.unauthorized, herr.message);
      return;
    }
    if (herr.status < 500 && ++this.#badFrames >= MAX_BAD_FRAMES)
      this.sink.closeSocket(WsCloseCode.policy, `${MAX_BAD_FRAMES} bad frames`);
  }

  /** The socket is gone (either side closed it). */
  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearDeadline();
    if (this.#sub) this.#ctx.hub.unsubscribe(this.#sub, 'client');
    this.#ctx.hub.releaseConnection(this.#seat);
  }

  /** Hub shutdown: subscribed connections were told by the hub; the rest are told here. */
  shutdown(): void {
    if (this.sink.ended) return;
    if (this.#sub && !this.#sub.closed) this.#ctx.hub.unsubscribe(this.#sub, 'shutdown');
    else this.sink.close('shutdown');
  }
}

function isExpired(p: Principal): boolean {
  return p.expiresAt !== undefined && p.expiresAt <= Date.now();
}

function withRef<T extends object>(message: T, ref: WsRef | undefined): T & { ref?: WsRef } {
  return ref === undefined ? message : { ...message, ref };
}

async function acceptedByEither(a: Promise<Principal>, b: Promise<Principal>): Promise<void> {
  const [sa, sb] = await Promise.allSettled([a, b]);
  // Both handled here, so neither cached promise leaves an unhandled rejection behind.
  if (sa.status === 'fulfilled' || sb.status === 'fulfilled') return;
  throw sa.reason;
}

const MAX_REF_LENGTH = 64;

/** Checks a client frame's shape; throws a 400 HeraldError saying what is wrong. */
export function parseFrame(data: RawData, isBinary: boolean): WsClientFrame {
  return checkFrame(readFrame(data, isBinary));
}

/** A frame that is a JSON object with a valid `ref` (or none); its op is not checked yet. */
type RawFrame = Record<string, unknown>;

function readFrame(data: RawData, isBinary: boolean): RawFrame {
  if (isBinary) throw new HeraldError(ErrorCode.badBody, 'frames must be JSON text, not binary');
  const text = Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as Buffer).toString();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the text: nothing of a client's frame goes into a reason or a log.
    throw new HeraldError(ErrorCode.badBody, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HeraldError(ErrorCode.badBody, 'frame must be a JSON object with an "op"');
  const o = value as Record<string, unknown>;
  const ref = o['ref'];
  if (
    ref !== undefined &&
    !(typeof ref === 'number' && Number.isFinite(ref)) &&
    !(typeof ref === 'string' && ref.length <= MAX_REF_LENGTH)
  )
    throw new HeraldError(
      ErrorCode.badBody,
      `"ref" must be a number or a string of at most ${MAX_REF_LENGTH}`,
    );
  return o;
}

function checkFrame(o: RawFrame): WsClientFrame {
  switch (o['op']) {
    case 'auth':
      if (typeof o['token'] !== 'string' || o['token'] === '')
        throw new HeraldError(ErrorCode.unauthorized, '"auth" needs a non-empty "token" string');
      return o as WsClientFrame;
    case 'subscribe':
    case 'unsubscribe': {
      // Draft-08 matchers may stand in for draft-07 topics: `topics` is then optional.
      let count = 0;
      for (const field of ['match', 'match_urlpattern']) {
        const list = o[field];
        if (list === undefined) continue;
        if (!Array.isArray(list) || !list.every((t) => typeof t === 'string'))
          throw new HeraldError(ErrorCode.badSelector, `"${field}" must be an array of strings`);
        count += list.length;
      }
      if (o['topics'] === undefined && count > 0) o['topics'] = [];
      const topics = o['topics'];
      if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string'))
        throw new HeraldError(ErrorCode.badTopic, `"${o['op']}" needs "topics": an array of strings`);
      if (topics.length + count === 0)
        throw new HeraldError(ErrorCode.missingTopic, `"${o['op']}" needs at least one topic`);
      const last = o['lastEventId'];
      if (o['op'] === 'subscribe' && last !== undefined && (typeof last !== 'string' || last === ''))
        throw new HeraldError(ErrorCode.badId, '"lastEventId" must be a non-empty string');
      if (o['op'] === 'subscribe') {
        if (o['snapshot'] !== undefined && typeof o['snapshot'] !== 'boolean')
          throw new HeraldError(ErrorCode.badRequest, '"snapshot" must be true or false');
        if (o['throttle'] !== undefined) checkThrottle(o['throttle']);
      }
      return o as WsClientFrame;
    }
    case 'publish':
      return o as WsClientFrame;
    case undefined:
      throw new HeraldError(ErrorCode.badBody, 'frame has no "op"');
    default:
      throw new HeraldError(
        ErrorCode.badBody,
        `unknown op ${JSON.stringify(String(o['op'])).slice(0, 40)}; use auth, subscribe, unsubscribe or publish`,
      );
  }
}

/** The draft-08 matchers of a subscribe or unsubscribe frame. */
function wsMatchers(frame: { match?: string[]; match_urlpattern?: string[] }): MatcherSpec[] {
  return [
    ...(frame.match ?? []).map((match) => ({ match, type: 'exact' as const })),
    ...(frame.match_urlpattern ?? []).map((match) => ({ match, type: 'urlpattern' as const })),
  ];
}
