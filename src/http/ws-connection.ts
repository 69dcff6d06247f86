import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { Principal } from '../auth/principal.ts';
import type { AdmissionTicket } from '../hub/limits.ts';
import type { ClientInfo, Subscription } from '../hub/subscription.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import { WsCloseCode, type WsClientFrame, type WsRef, type WsServerMessage } from '../protocol/ws.ts';
import { WsSink } from '../transport/ws.ts';
import type { HttpContext } from './context.ts';
import { jsonPublishInput } from '../protocol/publish-body.ts';
import { checkClientFrame, readClientFrame, wsMatchers, type RawClientFrame } from '../protocol/ws-frames.ts';

/** Bad frames tolerated on one connection before it is closed with 1008. */
export const MAX_BAD_FRAMES = 10;
/** Frames received but not yet answered; more means the client does not wait for replies. */
export const MAX_OPS_IN_FLIGHT = 64;

/** A `ws` socket that knows its Herald connection, so listeners can be module-level functions. */
export class HeraldSocket extends WebSocket {
  connection?: WsConnection;

  /** `ws` calls this too when the peer starts the closing handshake: held frames go first. */
  override close(code?: number, data?: string | Buffer): void {
    this.connection?.sink.flushHeld();
    super.close(code, data);
  }
}

/** How frames reach one connection's socket. */
export interface WsWire {
  /** The upgraded socket under `ws`. */
  socket: Duplex;
  /** permessage-deflate window size negotiated for server frames; undefined: uncompressed. */
  deflateWindowBits?: number;
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
  /** A reply went over the byte budget before there was a subscription: the cut is scheduled. */
  #overBudget = false;
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
    wire: WsWire,
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
      socket: wire.socket,
      batch: ctx.writes,
      ...(wire.deflateWindowBits !== undefined ? { deflateWindowBits: wire.deflateWindowBits } : {}),
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
    let raw: RawClientFrame;
    let frame: WsClientFrame;
    try {
      if (isBinary) throw new HeraldError(ErrorCode.badBody, 'frames must be JSON text, not binary');
      raw = readClientFrame(frameText(data));
    } catch (e) {
      this.#refuse(e, undefined);
      return;
    }
    try {
      frame = checkClientFrame(raw);
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
        this.#reply(withRef({ op: 'authenticated' }, frame.ref));
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
        this.#reply(withRef({ op: 'unsubscribed', topics: removed }, frame.ref));
        return;
      }
      case 'publish': {
        const principal = await this.#publisher();
        const { op: _op, ref: _ref, ...fields } = frame;
        const [stored] = await hub.publish([jsonPublishInput(fields)], principal, this.#client);
        this.#reply(withRef({ op: 'published', id: stored!.id }, frame.ref));
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
    this.#reply(withRef({ op: 'error', code: herr.code, message: herr.message }, ref));
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

  /**
   * Sends a reply. One that leaves the socket over its budget is the hub's slow-consumer case
   * once the connection has a subscription; before that nothing is worth the wait: cut it.
   */
  #reply(message: WsServerMessage): void {
    if (this.sink.reply(message)) return;
    if (this.#sub) this.#ctx.hub.overBudget(this.#sub);
    else if (!this.#overBudget) {
      this.#overBudget = true;
      setImmediate(() => this.ws.terminate());
    }
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

function frameText(data: RawData): string {
  return Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as Buffer).toString();
}
