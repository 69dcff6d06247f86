import { encodeSseUpdate } from './sse-encode.ts';
import { HubEvent, type Update } from './update.ts';

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
