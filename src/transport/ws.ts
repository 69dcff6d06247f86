import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import type { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';
import { SHUTDOWN_NOTICE, TOKEN_EXPIRED_NOTICE } from '../protocol/notices.ts';
import { wsTextFrame, type WsFrames } from '../protocol/ws-wire.ts';
import { closeReason, WsCloseCode, type WsRef, type WsServerMessage } from '../protocol/ws.ts';
import { BatchedStream } from './batched-stream.ts';
import { deflateMessage } from './ws-deflate.ts';
import type { WriteBatch } from './write-batch.ts';

export interface WsSinkOptions {
  /** Bytes queued for this socket before a write reports it over budget. */
  maxBufferedBytes: number;
  /** The upgraded socket under `ws`: frames are written to it directly. */
  socket: Duplex;
  /** The hub's per-turn write batch. */
  batch: WriteBatch;
  /**
   * The window size (`server_max_window_bits`) this socket negotiated with permessage-deflate
   * and no context takeover; undefined: frames go out uncompressed.
   */
  deflateWindowBits?: number;
}

const closeCodeOf: Record<CloseReason, number> = {
  client: WsCloseCode.normal,
  'token-expired': WsCloseCode.tokenExpired,
  shutdown: WsCloseCode.shutdown,
  'slow-consumer': WsCloseCode.slowConsumer,
  error: WsCloseCode.internal,
};

const encoder = new TextEncoder();

/**
 * One WebSocket connection as the hub sees it. Updates and hub notices go out as frames built
 * once per update or event and shared by every socket (`wsFrames`, compressed once per window
 * size when the socket negotiated permessage-deflate); replies are small frames of their own.
 * All of them are written to the socket directly, held in the hub's write batch like SSE
 * bytes, so one turn's frames leave in one write and a flush over many sockets is sliced and
 * paced. `ws` keeps the handshake, the reading side, pings and the closing handshake; the
 * connection flushes held frames before `ws` writes a close frame (HeraldSocket.close).
 * Pings come from the connection registry's single timer, so there is no `heartbeat`.
 */
export class WsSink implements Sink {
  readonly transport = 'ws' as const;
  readonly #ws: WebSocket;
  readonly #out: BatchedStream;
  readonly #maxBufferedBytes: number;
  readonly #windowBits: number | undefined;
  #ended = false;
  /** Correlation value of the op being answered by the next `open` (set by the connection). */
  ref: WsRef | undefined;

  constructor(ws: WebSocket, options: WsSinkOptions) {
    this.#ws = ws;
    this.#out = new BatchedStream(options.socket, options.batch);
    this.#maxBufferedBytes = options.maxBufferedBytes;
    this.#windowBits = options.deflateWindowBits;
    options.batch.noteOpened();
  }

  get bufferedBytes(): number {
    return this.#out.queuedBytes;
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
    return this.#write(this.#frameOf(update.wsFrames));
  }

  notice(notice: EncodedNotice): boolean {
    if (this.#ended) return true;
    return this.#write(this.#frameOf(notice.wsFrames));
  }

  /** Sends one reply frame; false when the socket is over its budget (as `send`). */
  reply(message: WsServerMessage): boolean {
    if (this.#ended) return true;
    return this.#write(wsTextFrame(encoder.encode(JSON.stringify(message))));
  }

  onceDrained(fn: () => void): void {
    this.#out.onceDrained(fn);
  }

  close(reason: CloseReason, farewell?: EncodedNotice): void {
    if (this.#ended) return;
    if (reason === 'token-expired') this.notice(farewell ?? TOKEN_EXPIRED_NOTICE);
    else if (reason === 'shutdown') this.notice(farewell ?? SHUTDOWN_NOTICE);
    this.#ended = true;
    if (reason === 'slow-consumer' || reason === 'error') {
      // Its queue is full: waiting for a closing handshake behind it is what we cannot afford.
      this.#out.discard();
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

  /**
   * Hands held frames to the socket now: called right before `ws` writes a close frame of its
   * own (either side started the closing handshake), since nothing may follow that frame.
   */
  flushHeld(): void {
    this.#out.flushNow();
  }

  #frameOf(frames: WsFrames): Uint8Array {
    const bits = this.#windowBits;
    return bits === undefined ? frames.plain() : frames.deflated(bits, deflateMessage);
  }

  #write(frame: Uint8Array): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return true;
    this.#out.write(frame);
    return this.#out.queuedBytes <= this.#maxBufferedBytes;
  }
}
