import type { WebSocket } from 'ws';
import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import type { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';
import { SHUTDOWN_NOTICE, TOKEN_EXPIRED_NOTICE } from '../protocol/notices.ts';
import { closeReason, WsCloseCode, type WsRef, type WsServerMessage } from '../protocol/ws.ts';

export interface WsSinkOptions {
  /** Bytes queued for this socket before a write reports it over budget. */
  maxBufferedBytes: number;
}

const closeCodeOf: Record<CloseReason, number> = {
  client: WsCloseCode.normal,
  'token-expired': WsCloseCode.tokenExpired,
  shutdown: WsCloseCode.shutdown,
  'slow-consumer': WsCloseCode.slowConsumer,
  error: WsCloseCode.internal,
};

/**
 * One WebSocket connection as the hub sees it. Updates and hub notices go out as the JSON
 * text built once per update or event (`wsBytes`); replies are small frames of their own.
 * Pings are sent by the connection registry's single timer, so there is no `heartbeat`; and
 * no `onceDrained`: `ws` does not say when a socket drained, so a slow WebSocket client is
 * disconnected whatever the policy.
 */
export class WsSink implements Sink {
  readonly transport = 'ws' as const;
  readonly #ws: WebSocket;
  readonly #maxBufferedBytes: number;
  #ended = false;
  /** Correlation value of the op being answered by the next `open` (set by the connection). */
  ref: WsRef | undefined;

  constructor(ws: WebSocket, options: WsSinkOptions) {
    this.#ws = ws;
    this.#maxBufferedBytes = options.maxBufferedBytes;
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

  send(update: EncodedUpdate): boolean {
    if (this.#ended) return true;
    return this.#write(update.wsBytes);
  }

  notice(notice: EncodedNotice): boolean {
    if (this.#ended) return true;
    return this.#write(notice.wsBytes);
  }

  /** Sends one reply frame; false when the socket is over its budget (as `send`). */
  reply(message: WsServerMessage): boolean {
    if (this.#ended) return true;
    return this.#write(JSON.stringify(message));
  }

  close(reason: CloseReason, farewell?: EncodedNotice): void {
    if (this.#ended) return;
    if (reason === 'token-expired') this.notice(farewell ?? TOKEN_EXPIRED_NOTICE);
    else if (reason === 'shutdown') this.notice(farewell ?? SHUTDOWN_NOTICE);
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

  #write(data: Uint8Array | string): boolean {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return true;
    // A Uint8Array is sent as it is; `binary: false` keeps it a text frame.
    ws.send(data, { binary: false });
    return ws.bufferedAmount <= this.#maxBufferedBytes;
  }
}
