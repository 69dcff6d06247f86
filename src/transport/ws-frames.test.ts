import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { deflateMessage } from './ws-deflate.ts';
import { DEFLATE_MIN_BYTES, WsFrames, wsTextFrame } from '../protocol/ws-wire.ts';

/** Reads one server frame back (RFC 6455 §5.2): flags, payload; throws on anything malformed. */
function readFrame(frame: Uint8Array): { fin: boolean; rsv1: boolean; opcode: number; payload: Buffer } {
  const b = Buffer.from(frame);
  assert.equal(b[1]! & 0x80, 0, 'server frames are never masked');
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    len = b.readUInt16BE(2);
    at = 4;
    assert.ok(len >= 126, 'the shortest length form is used');
  } else if (len === 127) {
    len = Number(b.readBigUInt64BE(2));
    at = 10;
    assert.ok(len >= 0x10000, 'the shortest length form is used');
  }
  assert.equal(b.length, at + len, 'the frame is exactly header + payload');
  return { fin: (b[0]! & 0x80) !== 0, rsv1: (b[0]! & 0x40) !== 0, opcode: b[0]! & 0x0f, payload: b.subarray(at) };
}

const inflate = (body: Uint8Array, windowBits = 15) =>
  inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), {
    windowBits,
    finishFlush: constants.Z_SYNC_FLUSH,
  });

test('a text frame carries its payload whole, with the length in the shortest of the three forms', () => {
  for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
    const payload = new Uint8Array(n).fill(0x61);
    const f = readFrame(wsTextFrame(payload));
    assert.deepEqual([f.fin, f.rsv1, f.opcode], [true, false, 1], `${n} bytes: one final text frame`);
    assert.equal(f.payload.length, n);
    assert.ok(f.payload.every((x) => x === 0x61));
  }
});

test('a compressed message inflates back to the very bytes, for every window size a peer may ask', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 5000 }), fc.integer({ min: 9, max: 15 }), (text, bits) => {
      const bytes = new TextEncoder().encode(text);
      const f = readFrame(wsTextFrame(deflateMessage(bytes, bits), true));
      assert.equal(f.rsv1, true, 'RSV1 marks the message compressed');
      assert.equal(inflate(f.payload, bits).toString(), text);
    }),
    { numRuns: 300 },
  );
});

test('one message builds each frame once: every socket with the same window gets the same bytes', () => {
  let built = 0;
  const json = new TextEncoder().encode(JSON.stringify({ id: 'x', topics: ['t'], data: 'y'.repeat(500) }));
  const frames = new WsFrames(() => {
    built++;
    return json;
  });
  let deflated = 0;
  const deflate = (p: Uint8Array, bits: number) => {
    deflated++;
    return deflateMessage(p, bits);
  };
  const plain = frames.plain();
  assert.equal(frames.plain(), plain, 'plain frame reused');
  const w15 = frames.deflated(15, deflate);
  assert.equal(frames.deflated(15, deflate), w15, 'compressed frame reused for the same window');
  const w10 = frames.deflated(10, deflate);
  assert.equal(deflated, 2, 'compressed once per window size');
  assert.notEqual(w10, w15, 'another window size gets a frame of its own');
  assert.ok(readFrame(w15).payload.length < json.length / 5, 'a repetitive update shrinks');
  assert.equal(inflate(readFrame(w10).payload, 10).toString(), Buffer.from(json).toString());
  assert.ok(built <= 3, `payload built ${built} times`);
});

test('a message too short to gain from deflate goes out plain even to a deflating socket', () => {
  const small = new TextEncoder().encode('x'.repeat(DEFLATE_MIN_BYTES - 1));
  const frames = new WsFrames(() => small);
  const f = readFrame(frames.deflated(15, deflateMessage));
  assert.equal(f.rsv1, false);
  assert.equal(frames.deflated(15, deflateMessage), frames.plain(), 'the plain frame itself, not a copy');
});
