import { encodeSseHubEvent, encodeSseUpdate } from './sse-encode.ts';
import { HubEvent, type HubEventName, type Update } from './update.ts';
import { WsFrames } from './ws-wire.ts';

/** The JSON frame a WebSocket subscriber receives for one update. */
export interface WsUpdateFrame {
  id: string;
  topics: string[];
  type?: string;
  data: string;
  retry?: number;
}

/**
 * One update and its bytes per wire format, each built at most once per update no matter how
 * many subscribers receive it.
 */
export class EncodedUpdate {
  readonly update: Update;
  #sse: Uint8Array | undefined;
  #sseChunk: Uint8Array | undefined;
  #ws: string | undefined;
  #asState: EncodedUpdate | undefined;
  #wsBytes: Uint8Array | undefined;
  #wsFrames: WsFrames | undefined;

  constructor(update: Update) {
    this.update = update;
  }

  get sse(): Uint8Array {
    return (this.#sse ??= encodeSseUpdate(this.update));
  }

  /** The SSE bytes wrapped as one HTTP/1.1 chunk, for sinks that write to the socket directly. */
  get sseChunk(): Uint8Array {
    return (this.#sseChunk ??= httpChunk(this.sse));
  }

  /**
   * For an update that changed a retained state (`stateVersion` set): the same update as a
   * `herald.state` event whose data is `{"topic","state","version"}`, built once.
   */
  get asState(): EncodedUpdate {
    if (this.#asState === undefined) {
      const u = this.update;
      let state: unknown;
      try {
        state = JSON.parse(u.data);
      } catch {
        state = u.data;
      }
      const data = JSON.stringify({ topic: u.topics[0], state, version: u.stateVersion ?? 0 });
      const view: Update = { ...u, type: HubEvent.state, data };
      this.#asState = new EncodedUpdate(view);
    }
    return this.#asState;
  }

  get ws(): string {
    if (this.#ws === undefined) {
      const u = this.update;
      const frame: WsUpdateFrame = { id: u.id, topics: u.topics, data: u.data };
      if (u.type !== undefined) frame.type = u.type;
      if (u.retry !== undefined) frame.retry = u.retry;
      this.#ws = JSON.stringify(frame);
    }
    return this.#ws;
  }

  /** The WebSocket JSON as UTF-8, so a sink hands every socket the same bytes. */
  get wsBytes(): Uint8Array {
    return (this.#wsBytes ??= encoder.encode(this.ws));
  }

  /** `wsBytes` as ready WebSocket frames (plain, or compressed per window size), built once. */
  get wsFrames(): WsFrames {
    return (this.#wsFrames ??= new WsFrames(() => this.wsBytes));
  }
}

/**
 * One hub-generated event (gap, stats, shutdown...) and its bytes per wire format, built at
 * most once per event however many subscribers it goes to, like `EncodedUpdate`.
 */
export class EncodedNotice {
  readonly type: HubEventName;
  readonly data: unknown;
  /** `retry:` of the SSE form, when the event tells clients when to come back. */
  #sseRetry: number | undefined;
  #sse: Uint8Array | undefined;
  #sseChunk: Uint8Array | undefined;
  #wsBytes: Uint8Array | undefined;
  #wsFrames: WsFrames | undefined;

  constructor(type: HubEventName, data: unknown) {
    this.type = type;
    this.data = data;
  }

  /**
   * The SSE bytes, with `retry:` when given. Every SSE sink of a hub passes the same value, so
   * the bytes are still built once; a different value rebuilds them.
   */
  sse(retry?: number): Uint8Array {
    if (this.#sse === undefined || retry !== this.#sseRetry) {
      this.#sse = encodeSseHubEvent(this.type, this.data, retry);
      this.#sseChunk = undefined;
      this.#sseRetry = retry;
    }
    return this.#sse;
  }

  /** `sse(retry)` wrapped as one HTTP/1.1 chunk. */
  sseChunk(retry?: number): Uint8Array {
    const sse = this.sse(retry);
    return (this.#sseChunk ??= httpChunk(sse));
  }

  /** The WebSocket frame `{"op":"event","type","data"}` as UTF-8. */
  get wsBytes(): Uint8Array {
    return (this.#wsBytes ??= encoder.encode(
      JSON.stringify({ op: 'event', type: this.type, data: this.data }),
    ));
  }

  /** `wsBytes` as ready WebSocket frames, built once (see EncodedUpdate.wsFrames). */
  get wsFrames(): WsFrames {
    return (this.#wsFrames ??= new WsFrames(() => this.wsBytes));
  }
}

const encoder = new TextEncoder();

/** Wraps bytes in HTTP/1.1 chunked transfer framing. */
export function httpChunk(body: Uint8Array): Uint8Array {
  const head = encoder.encode(`${body.length.toString(16)}\r\n`);
  const out = new Uint8Array(head.length + body.length + 2);
  out.set(head, 0);
  out.set(body, head.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}
