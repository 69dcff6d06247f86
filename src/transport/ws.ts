import type { WebSocket } from 'ws';
import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import { HubEvent, type HubEventName } from '../protocol/update.ts';
import { closeReason, WsCloseCode, type WsRef, type WsServerMessage } from '../protocol/ws.ts';

export interface WsSinkOptions {
  /** Bytes queued for this socket before the slow-consumer policy applies. */
  maxBufferedBytes: number;
  /** Called (once, asynchronously) when the socket's queue went over the budget. */
  onOverflow: () => void;
}

const closeCodeOf: Record<CloseReason, number> = {
  client: WsCloseCode.normal,
  'token-expired': WsCloseCode.tokenExpired,
  shutdown: WsCloseCode.shutdown,
  'slow-consumer': WsCloseCode.slowConsumer,
  error: WsCloseCode.internal,
};

/**
 * One WebSocket connection as the hub sees it. Updates go out as the JSON text built once per
 * update (`EncodedUpdate.wsBytes`); replies and hub events are small frames of their own.
 * Pings are sent by the connection registry's single timer, not here.
 */
export class WsSink implements Sink {
  readonly transport = 'ws' as const;
  readonly #ws: WebSocket;
  readonly #options: WsSinkOptions;
  #ended = false;
  #overflowed = false;
  /** Correlation value of the op being answered by the next `open` (set by the connection). */
  ref: WsRef | undefined;

  constructor(ws: WebSocket, options: WsSinkOptions) {
    this.#ws = ws;
    this.#options = options;
  }

  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  get ended(): boolean {
    return this.#ended;
  }

  open(info: OpenInfo): void {
    const msg: WsServerMessage = {
      op: 'subscribed',
      subscriber: info.subscriberId,
      topics: [...(info.selectors ?? [])],
    };
    if (info.resumedFrom !== undefined) {
      msg.lastEventId = info.resumedFrom;
      msg.gap = info.gap;
    }
    if (this.ref !== undefined) msg.ref = this.ref;
    this.reply(msg);
  }

  send(update: EncodedUpdate): void {
    if (this.#ended) return;
    this.#write(update.wsBytes);
  }

  notice(type: HubEventName, data: unknown): void {
    this.reply({ op: 'event', type, data });
  }

  /** Sends one reply or event frame. */
  reply(message: WsServerMessage): void {
    if (this.#ended) return;
    this.#write(JSON.stringify(message));
  }

  heartbeat(): void {}

  close(reason: CloseReason): void {
    if (this.#ended) return;
    if (reason === 'token-expired')
      this.notice(HubEvent.tokenExpired, { reason: 'token expired; reconnect with a fresh token' });
    else if (reason === 'shutdown')
      this.notice(HubEvent.shutdown, { reason: 'hub is restarting; reconnect' });
    this.#ended = true;
    if (reason === 'slow-consumer' || reason === 'error') {
      // Its queue is full: waiting for a closing handshake behind it is what we cannot afford.
      this.#ws.terminate();
      return;
    }
    this.closeSocket(closeCodeOf[reason], reason);
  }

  /** Starts the closing handshake unless the socket is already closing; `reason` is cut to fit. */
  closeSocket(code: number, reason: string): void {
    this.#ended = true;
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING)
      this.#ws.close(code, closeReason(reason.replace(/[\r\n]+/g, ' ')));
  }

  #write(data: Uint8Array | string): void {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return;
    // A Uint8Array is sent as it is; `binary: false` keeps it a text frame.
    ws.send(data, { binary: false });
    if (ws.bufferedAmount > this.#options.maxBufferedBytes && !this.#overflowed) {
      this.#overflowed = true;
      setImmediate(this.#options.onOverflow);
    }
  }
}
