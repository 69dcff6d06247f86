// WebSocket frames are built once per update and shared: with permessage-deflate, each update
// is compressed once per window size (no context takeover), and every socket that negotiated
// that window receives the very same bytes; a socket that did not offer it gets the plain
// frame. Checked on the wire with a raw TCP client, and with the `ws` client as a browser
// would connect (it offers deflate by default).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import type { RunningHerald } from '../src/start.ts';
import { hubUrl, publishJson, publisherToken, startTestHub } from './support/hub-fixture.ts';
import { WsProbe } from './support/ws-probe.ts';

interface Frame {
  rsv1: boolean;
  opcode: number;
  /** The frame's bytes as received, header included. */
  raw: Buffer;
  payload: Buffer;
}

/** A WebSocket client on a bare socket: sends the upgrade, keeps the answer head and every frame. */
class RawWs {
  readonly frames: Frame[] = [];
  head = '';
  readonly #socket: Socket;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  constructor(h: RunningHerald, extensions?: string) {
    const url = new URL(hubUrl(h, '/ws'));
    this.#socket = connect({ host: url.hostname, port: Number(url.port) });
    this.#socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
        '\r\n',
    );
    this.#socket.on('data', (chunk: Buffer) => this.#feed(chunk));
    this.#socket.on('error', () => {});
  }

  /** Sends a masked text frame (client frames must be masked). */
  send(message: unknown): void {
    const payload = Buffer.from(JSON.stringify(message));
    assert.ok(payload.length < 126);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    this.#socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  /** Resolves once `count` frames have arrived (bounded by the test's timeout). */
  async frameCount(count: number): Promise<Frame[]> {
    while (this.frames.length < count) await new Promise<void>((r) => this.#waiters.push(r));
    return this.frames;
  }

  close(): void {
    this.#socket.destroy();
  }

  #feed(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    if (!this.head) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.#buf.subarray(0, end).toString('latin1');
      this.#buf = this.#buf.subarray(end + 4);
    }
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = [b.length >= 4 ? b.readUInt16BE(2) : Infinity, 4];
      else if (len === 127) [len, at] = [b.length >= 10 ? Number(b.readBigUInt64BE(2)) : Infinity, 10];
      if (b.length < at + len) break;
      this.frames.push({
        rsv1: (b[0]! & 0x40) !== 0,
        opcode: b[0]! & 0x0f,
        raw: b.subarray(0, at + len),
        payload: b.subarray(at, at + len),
      });
      this.#buf = b.subarray(at + len);
    }
    for (const w of this.#waiters.splice(0)) w();
  }
}

const inflate = (body: Buffer, windowBits = 15): string =>
  inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), {
    windowBits,
    finishFlush: constants.Z_SYNC_FLUSH,
  }).toString();

const text = (f: Frame, windowBits = 15): string => (f.rsv1 ? inflate(f.payload, windowBits) : f.payload.toString());

/** Subscribes each client to `topic`, publishes one repetitive update, returns its JSON. */
async function deliverOne(h: RunningHerald, clients: RawWs[], topic: string): Promise<string> {
  for (const c of clients) c.send({ op: 'subscribe', topics: [topic] });
  for (const c of clients) {
    const [ack] = await c.frameCount(1);
    assert.equal(JSON.parse(text(ack!)).op, 'subscribed');
  }
  const data = JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ row: i, status: 'ok' })) });
  const res = await publishJson(h, { topics: [topic], data }, await publisherToken());
  assert.equal(res.status, 200, res.body);
  return data;
}

describe('WebSocket frames with permessage-deflate (the default)', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: true });
  });
  after(() => hub.close());

  it('compresses an update once: every deflating socket gets the same bytes, a plain socket the plain frame', async () => {
    const offer = 'permessage-deflate; client_max_window_bits';
    const deflating = [new RawWs(hub, offer), new RawWs(hub, offer), new RawWs(hub, offer)];
    const plain = new RawWs(hub);
    const all = [...deflating, plain];
    try {
      const data = await deliverOne(hub, all, 'https://ex.com/deflate/shared');
      const updates = await Promise.all(all.map(async (c) => (await c.frameCount(2))[1]!));
      for (const c of deflating) assert.match(c.head, /permessage-deflate;.*server_no_context_takeover/i);
      assert.doesNotMatch(plain.head, /permessage-deflate/i);
      const [first, ...rest] = updates.slice(0, 3);
      assert.equal(first!.rsv1, true, 'compressed');
      for (const u of rest) assert.ok(u.raw.equals(first!.raw), 'byte-identical frames on every deflating socket');
      assert.ok(first!.raw.length < updates[3]!.raw.length / 3, `compressed ${first!.raw.length} vs plain ${updates[3]!.raw.length} bytes`);
      assert.equal(updates[3]!.rsv1, false);
      for (const u of updates) assert.equal(JSON.parse(text(u)).data, data, 'all read the same update');
    } finally {
      for (const c of all) c.close();
    }
  });

  it('honours a smaller window a client asks for', async () => {
    const small = new RawWs(hub, 'permessage-deflate; server_max_window_bits=10');
    try {
      const data = await deliverOne(hub, [small], 'https://ex.com/deflate/window');
      const [, update] = await small.frameCount(2);
      assert.match(small.head, /server_max_window_bits=10/);
      assert.equal(update!.rsv1, true);
      assert.equal(JSON.parse(inflate(update!.payload, 10)).data, data);
    } finally {
      small.close();
    }
  });

  it('a ws client offering deflate (as browsers do) reads updates, and its own compressed frames are read', async () => {
    const topic = 'https://ex.com/deflate/ws';
    const probe = new WsProbe(hubUrl(hub, '/ws'), { perMessageDeflate: { threshold: 0 } });
    try {
      await probe.opened;
      assert.match(probe.ws.extensions, /permessage-deflate/);
      probe.send({ op: 'subscribe', topics: [topic], ref: 1 });
      await probe.next((m) => m['op'] === 'subscribed' && m['ref'] === 1);
      const data = 'z'.repeat(4000);
      await publishJson(hub, { topics: [topic], data }, await publisherToken());
      const got = await probe.next((m) => m['data'] !== undefined);
      assert.equal(got['data'], data);
    } finally {
      probe.ws.close();
    }
  });
});

describe('WebSocket frames with --ws-deflate off', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: true, wsDeflate: 'off' });
  });
  after(() => hub.close());

  it('declines the extension and sends plain frames', async () => {
    const c = new RawWs(hub, 'permessage-deflate; client_max_window_bits');
    try {
      const data = await deliverOne(hub, [c], 'https://ex.com/deflate/off');
      const [, update] = await c.frameCount(2);
      assert.doesNotMatch(c.head, /permessage-deflate/i);
      assert.equal(update!.rsv1, false);
      assert.equal(JSON.parse(update!.payload.toString()).data, data);
    } finally {
      c.close();
    }
  });
});

describe('compressed frames a client sends', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: true, maxBody: 64 * 1024 });
  });
  after(() => hub.close());

  it('a deflate bomb is cut at --max-body of inflated bytes (1009), and the hub keeps serving others', async () => {
    const bystander = new WsProbe(hubUrl(hub, '/ws'));
    const bomber = new WsProbe(hubUrl(hub, '/ws'), { perMessageDeflate: { threshold: 0 } });
    try {
      await Promise.all([bystander.opened, bomber.opened]);
      bystander.send({ op: 'subscribe', topics: ['https://ex.com/bomb/after'], ref: 1 });
      await bystander.next((m) => m['op'] === 'subscribed');
      // 16 MiB of one character: about 16 KiB on the wire, 256 times the hub's limit inflated.
      bomber.send(`{"op":"subscribe","topics":["${'a'.repeat(16 * 1024 * 1024)}"]}`);
      const closed = await bomber.closed;
      assert.equal(closed.code, 1009, 'message too big, counted after inflating');
      const res = await publishJson(
        hub,
        { topics: ['https://ex.com/bomb/after'], data: 'still here' },
        await publisherToken(),
      );
      assert.equal(res.status, 200);
      assert.equal((await bystander.next((m) => m['data'] !== undefined))['data'], 'still here');
    } finally {
      bystander.ws.terminate();
      bomber.ws.terminate();
    }
  });
});
