import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeSseHubEvent, encodeSseUpdate } from './sse-encode.ts';
import { EncodedUpdate, httpChunk } from './frames.ts';
import type { Update } from './update.ts';

const base: Update = { topics: ['t'], data: '', id: 'id-1', private: false, position: '1', publishedAt: 0 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test('an update becomes event, retry, id and one data line per input line, in that order', () => {
  const s = text(encodeSseUpdate({ ...base, type: 'ev', retry: 10, data: 'a\r\nb\rc\nd' }));
  assert.equal(s, 'event: ev\nretry: 10\nid: id-1\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
});

test('empty data still writes one data line', () => {
  assert.equal(text(encodeSseUpdate(base)), 'id: id-1\ndata: \n\n');
});

test('hub events carry no id; structured data is sent as JSON', () => {
  assert.equal(
    text(encodeSseHubEvent('herald.gap', { a: 1 }, 500)),
    'event: herald.gap\nretry: 500\ndata: {"a":1}\n\n',
  );
});

test('bytes are built once per update and format, and chunk framing wraps them', () => {
  const e = new EncodedUpdate({ ...base, data: 'x' });
  assert.equal(e.sse, e.sse);
  assert.equal(e.sseChunk, e.sseChunk);
  assert.equal(text(e.sseChunk), `${e.sse.length.toString(16)}\r\n${text(e.sse)}\r\n`);
  assert.deepEqual(JSON.parse(e.ws), { id: 'id-1', topics: ['t'], data: 'x' });
  assert.equal(text(httpChunk(new Uint8Array(0))), '0\r\n\r\n');
});
