/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2) built as bytes, so one update's frame is
 * made once and the same bytes go to every socket. Server frames are never masked. With
 * permessage-deflate (RFC 7692) negotiated with `server_no_context_takeover`, each message is
 * compressed on its own, so one compressed frame also serves every socket that negotiated the
 * same window size. The compressor itself is the transport's (protocol code uses no Node
 * module): see transport/ws-deflate.ts.
 */

const OPCODE_TEXT = 0x1;
const FIN = 0x80;
/** "Per-message compressed" bit of the first frame of a message (RFC 7692 §6). */
const RSV1 = 0x40;

/** One unfragmented text frame holding `payload` (already compressed when `compressed`). */
export function wsTextFrame(payload: Uint8Array, compressed = false): Uint8Array {
  const n = payload.byteLength;
  const headerLength = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const frame = new Uint8Array(headerLength + n);
  frame[0] = FIN | OPCODE_TEXT | (compressed ? RSV1 : 0);
  if (n < 126) frame[1] = n;
  else if (n < 0x10000) {
    frame[1] = 126;
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 127;
    // Payloads are bounded far below 2^53: the upper 32 bits are the high part of n.
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(n / 0x1_0000_0000));
    view.setUint32(6, n >>> 0);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** Compresses a message body as RFC 7692 says, for a peer whose inflate window is `windowBits`. */
export type MessageDeflater = (payload: Uint8Array, windowBits: number) => Uint8Array;

/** Below this many bytes a message goes out uncompressed: deflate would not pay for itself. */
export const DEFLATE_MIN_BYTES = 128;

/**
 * The frames of one message, built on first use and kept: plain, and compressed per window
 * size (a socket's negotiated `server_max_window_bits`; at most a handful of values exist).
 */
export class WsFrames {
  readonly #payload: () => Uint8Array;
  #plain: Uint8Array | undefined;
  #deflated: Map<number, Uint8Array> | undefined;

  constructor(payload: () => Uint8Array) {
    this.#payload = payload;
  }

  /** The plain frame. */
  plain(): Uint8Array {
    return (this.#plain ??= wsTextFrame(this.#payload()));
  }

  /** The frame for a socket that negotiated permessage-deflate with window `windowBits`. */
  deflated(windowBits: number, deflate: MessageDeflater): Uint8Array {
    let frame = this.#deflated?.get(windowBits);
    if (frame === undefined) {
      const payload = this.#payload();
      frame =
        payload.byteLength < DEFLATE_MIN_BYTES ? this.plain() : wsTextFrame(deflate(payload, windowBits), true);
      (this.#deflated ??= new Map()).set(windowBits, frame);
    }
    return frame;
  }
}
