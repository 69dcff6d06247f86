import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RunningHerald } from '../../src/start.ts';
import { publisherToken, startTestHub } from '../support/hub-fixture.ts';

/** Most bytes the test offers; a hub that keeps reading takes them all (it used to take 72 GB). */
const OFFER = 64 * 1024 * 1024;
const CHUNK = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 'a'), Buffer.from('\r\n')]);

interface Outcome {
  status: number;
  text: string;
  /** Bytes the socket accepted before the hub closed it (or the offer ran out). */
  written: number;
  closedByHub: boolean;
}

/**
 * Sends a chunked POST whose body never ends: writes as fast as the hub reads, until the hub
 * closes the connection or `OFFER` bytes went out. Bounded by `timeoutMs` either way.
 */
function endlessPost(port: number, headers: string[], timeoutMs = 8000): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    let written = 0;
    let done = false;
    const finish = (closedByHub: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, written, closedByHub });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const pump = (): void => {
      while (!done && written < OFFER) {
        written += CHUNK.length;
        if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      }
      if (written >= OFFER) finish(false);
    };
    socket.write(
      [
        'POST /.well-known/mercure HTTP/1.1',
        'Host: 127.0.0.1',
        'Transfer-Encoding: chunked',
        'Content-Type: application/x-www-form-urlencoded',
        ...headers,
        '',
        '',
      ].join('\r\n'),
    );
    pump();
  });
}

describe('a refused request with a body that never ends', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: true, maxBody: 64 * 1024 });
  });
  after(() => hub.close());

  test('an anonymous endless publish gets its 401, then the hub stops reading and closes', async () => {
    const four = await Promise.all([1, 2, 3, 4].map(() => endlessPost(hub.port, [])));
    for (const out of four) {
      assert.equal(out.status, 401, out.text.slice(0, 200));
      assert.match(out.text, /X-Herald-Error: HERALD_ERR_UNAUTHORIZED/i);
      assert.match(out.text, /Connection: close/i);
      assert.ok(out.closedByHub, `the hub kept reading: ${out.written} bytes taken`);
      assert.ok(out.written < OFFER / 2, `${out.written} bytes taken`);
    }
  });

  test('an endless body over --max-body gets its 413, then the hub closes', async () => {
    const out = await endlessPost(hub.port, [`Authorization: Bearer ${await publisherToken()}`]);
    assert.equal(out.status, 413, out.text.slice(0, 200));
    assert.match(out.text, /X-Herald-Error: HERALD_ERR_BODY_TOO_LARGE/i);
    assert.ok(out.closedByHub, `the hub kept reading: ${out.written} bytes taken`);
    assert.ok(out.written < OFFER / 2, `${out.written} bytes taken`);
  });

  test('a refused request whose small body is known keeps its connection for the next request', async () => {
    const socket = connect(hub.port, '127.0.0.1');
    socket.setEncoding('latin1');
    let text = '';
    const bothAnswers = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          // The second answer (the health check's, with its length) is complete.
          if (/HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok\n$/.test(text)) resolve();
        };
        socket.on('data', (d: string) => {
          text += d;
          check();
        });
        socket.once('close', () => reject(new Error(`closed after: ${text}`)));
        check();
      });
    const body = 'topic=https://example.com/a&data=x';
    socket.write(
      `POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        'GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    try {
      await bothAnswers();
      assert.match(text, /^HTTP\/1\.1 401/);
      assert.equal(text.split('HTTP/1.1 ').length, 3, text);
    } finally {
      socket.destroy();
    }
  });
});
