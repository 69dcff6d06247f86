/**
 * Herald WebSocket subscriber over a raw TCP socket: writes the upgrade request itself, reads
 * RFC 6455 frames with a few buffer operations and speaks the hub's JSON dialect (one
 * `subscribe` op, `subscribed` reply = live, update frames `{"id","topics","data"}`).
 * A `ws` client per subscriber costs several times the CPU per message (event emitters, a
 * receiver stream, UTF-8 validation); on a 2-core machine shared with the hub, the generator
 * must stay the cheaper side.
 *
 * permessage-deflate (knob `deflate`): offers it with no context takeover on both sides, so
 * every compressed message inflates on its own (what a hub compressing each update once for
 * all sockets has to send). A hub that answers without the extension is read uncompressed;
 * one that keeps its context across messages is refused, since this client cannot follow it.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import type { Endpoint } from '../systems/types.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';

const Op = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
/** Largest frame accepted; a hub never sends updates this big in the bench (bounds memory). */
const MAX_FRAME = 1 << 20;
/** What a deflate message lacks at its end (RFC 7692 §7.2.1). */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const DATA_KEY = '"data":"';

export interface WsClientOptions {
  /** Offer permessage-deflate (no context takeover). */
  deflate: boolean;
}

export class WsNetSubscriber implements Subscriber {
  live = false;
  lastId: string | undefined;
  /** True when the hub accepted permessage-deflate on the current socket. */
  deflated = false;
  #socket: Socket | undefined;
  #upgraded = false;
  #head = '';
  #buf: Buffer | undefined;
  /** Fragments of a message split over several frames (rare: the hub sends whole messages). */
  #fragments: Buffer[] = [];
  #fragmentCompressed = false;
  #bytes = 0;
  readonly #node: Endpoint;
  readonly #path: string;
  readonly #topic: string;
  readonly #localAddress: string;
  readonly #sink: SubscriberSink;
  readonly #options: WsClientOptions;

  constructor(node: Endpoint, path: string, topic: string, localAddress: string, sink: SubscriberSink, options: WsClientOptions) {
    this.#node = node;
    this.#path = path;
    this.#topic = topic;
    this.#localAddress = localAddress;
    this.#sink = sink;
    this.#options = options;
  }

  connect(resume: boolean): void {
    this.live = false;
    this.deflated = false;
    this.#upgraded = false;
    this.#head = '';
    this.#buf = undefined;
    this.#fragments = [];
    this.#bytes = 0;
    const socket = connect({ host: this.#node.host, port: this.#node.port, localAddress: this.#localAddress });
    this.#socket = socket;
    socket.setNoDelay(true);
    const ext = this.#options.deflate
      ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n'
      : '';
    socket.write(
      `GET ${this.#path} HTTP/1.1\r\nHost: ${this.#node.host}:${this.#node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${ext}\r\n`,
      'latin1',
    );
    const subscribe: Record<string, unknown> = { op: 'subscribe', topics: [this.#topic] };
    if (resume && this.lastId !== undefined) subscribe.lastEventId = this.lastId;
    // The hub reads frames only after the upgrade; sending at once saves a round trip.
    socket.write(maskedFrame(Op.text, Buffer.from(JSON.stringify(subscribe))));
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      this.#bytes += chunk.length;
      this.#sink.onBytes?.(chunk.length);
      this.#feed(chunk);
    });
    // Events from a socket already dropped (storm, reconnect) must not touch the new one.
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#fail(err.message);
    });
    socket.on('close', () => {
      if (this.#socket === socket) {
        this.#socket = undefined;
        this.#sink.onClosed(this);
      }
    });
  }

  describe(): string {
    return `live=${this.live} socket=${this.#socket ? (this.#socket.destroyed ? 'destroyed' : 'open') : 'none'} upgraded=${this.#upgraded} deflated=${this.deflated} buffered=${this.#buf?.length ?? 0} bytes=${this.#bytes} lastId=${this.lastId ?? ''}`;
  }

  /** Drops the connection at once (no closing handshake), as a network cut or a storm does. */
  close(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.live = false;
    s?.destroy();
  }

  #fail(reason: string): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
    this.#sink.onError(this, reason);
  }

  #feed(chunk: Buffer): void {
    let data = chunk;
    if (!this.#upgraded) {
      this.#head += chunk.toString('latin1');
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.#head.length > 16_384) this.#fail('upgrade response head too long');
        return;
      }
      const head = this.#head.slice(0, end);
      const rest = Buffer.from(this.#head.slice(end + 4), 'latin1');
      this.#head = '';
      const status = Number(head.slice(9, 12));
      if (status !== 101) {
        this.#fail(`HTTP ${status}`);
        return;
      }
      const ext = /\r\nsec-websocket-extensions:([^\r]*)/i.exec(head)?.[1] ?? '';
      if (/permessage-deflate/i.test(ext)) {
        if (!/server_no_context_takeover/i.test(ext)) {
          this.#fail('hub keeps a deflate context per socket; this client inflates each message alone');
          return;
        }
        this.deflated = true;
      }
      this.#upgraded = true;
      if (rest.length === 0) return;
      data = rest;
    }
    const buf = this.#buf ? Buffer.concat([this.#buf, data]) : data;
    this.#buf = undefined;
    let i = 0;
    while (buf.length - i >= 2) {
      const b0 = buf[i] as number;
      const b1 = buf[i + 1] as number;
      let len = b1 & 0x7f;
      let at = i + 2;
      if (len === 126) {
        if (buf.length - at < 2) break;
        len = buf.readUInt16BE(at);
        at += 2;
      } else if (len === 127) {
        if (buf.length - at < 8) break;
        const big = buf.readBigUInt64BE(at);
        if (big > BigInt(MAX_FRAME)) {
          this.#fail('frame too large');
          return;
        }
        len = Number(big);
        at += 8;
      }
      if (len > MAX_FRAME) {
        this.#fail('frame too large');
        return;
      }
      if (b1 & 0x80) {
        this.#fail('server frame is masked');
        return;
      }
      if (buf.length - at < len) break;
      const payload = buf.subarray(at, at + len);
      i = at + len;
      if (!this.#frame(b0, payload)) return;
    }
    if (i < buf.length) this.#buf = Buffer.from(buf.subarray(i));
  }

  /** Handles one frame; false when the connection was given up. */
  #frame(b0: number, payload: Buffer): boolean {
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    switch (opcode) {
      case Op.ping:
        this.#socket?.write(maskedFrame(Op.pong, payload));
        return true;
      case Op.pong:
        return true;
      case Op.close: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.#fail(`closed ${code} ${payload.subarray(2).toString('utf8')}`);
        return false;
      }
      case Op.text:
      case Op.binary:
        if (fin) return this.#message(payload, rsv1);
        this.#fragments = [Buffer.from(payload)];
        this.#fragmentCompressed = rsv1;
        return true;
      case Op.continuation:
        this.#fragments.push(Buffer.from(payload));
        if (!fin) return true;
        return this.#message(Buffer.concat(this.#fragments.splice(0)), this.#fragmentCompressed);
      default:
        this.#fail(`unknown opcode ${opcode}`);
        return false;
    }
  }

  #message(payload: Buffer, compressed: boolean): boolean {
    let bytes = payload;
    if (compressed) {
      if (!this.deflated) {
        this.#fail('compressed frame without permessage-deflate');
        return false;
      }
      try {
        // The message ends at a sync-flush boundary, not at a final block: inflate up to it.
        bytes = inflateRawSync(Buffer.concat([payload, DEFLATE_TAIL]), {
          finishFlush: zlibConstants.Z_SYNC_FLUSH,
          maxOutputLength: MAX_FRAME,
        });
      } catch (e) {
        this.#fail(`cannot inflate a message: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
    }
    const text = bytes.toString('utf8');
    if (text.startsWith('{"op"')) return this.#reply(text);
    // An update: {"id":"…","topics":[…],"data":"…"}. The bench payload is plain text, so the
    // id and data are read without a JSON parse (the generator's cost per delivery).
    const idAt = text.indexOf('"id":"');
    if (idAt >= 0) {
      const idEnd = text.indexOf('"', idAt + 6);
      if (idEnd > 0) this.lastId = text.slice(idAt + 6, idEnd);
    }
    const dataAt = text.indexOf(DATA_KEY);
    this.#markLive();
    this.#sink.onMessage(this, dataAt >= 0 ? text.slice(dataAt + DATA_KEY.length) : text);
    return true;
  }

  #reply(text: string): boolean {
    let msg: { op?: string; code?: string; message?: string };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.#fail('unreadable reply');
      return false;
    }
    if (msg.op === 'subscribed') this.#markLive();
    else if (msg.op === 'error') {
      this.#fail(`hub error ${msg.code ?? ''}: ${msg.message ?? ''}`);
      return false;
    }
    return true;
  }

  #markLive(): void {
    if (!this.live) {
      this.live = true;
      this.#sink.onLive(this);
    }
  }
}

/** A client frame (always masked, RFC 6455 §5.3); payloads here are small. */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headLen = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headLen + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, headLen);
  for (let k = 0; k < len; k++) out[headLen + 4 + k] = (payload[k] as number) ^ (mask[k & 3] as number);
  return out;
}
