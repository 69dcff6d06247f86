import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { Http1Channel } from './http1-channel.ts';
import { WriteBatch } from './write-batch.ts';

/** A node:http server handing its one response to `use`, and a raw client socket to it. */
async function exchange(
  use: (res: ServerResponse) => void,
): Promise<{ client: Socket; head: Promise<string>; close(): Promise<void> }> {
  const server = createServer((_req, res) => use(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.setEncoding('latin1');
  client.write('GET /s HTTP/1.1\r\nHost: h\r\n\r\n');
  const head = new Promise<string>((resolve) => {
    let got = '';
    client.on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n\r\n')) resolve(got);
    });
  });
  return {
    client,
    head,
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("the adapter's head headers leave with the stream's, and the response keeps no header table", async () => {
  let response: ServerResponse | undefined;
  const t = await exchange((res) => {
    response = res;
    const channel = new Http1Channel(res, new WriteBatch(), { 'X-Request-Id': 'req-7' });
    channel.start({ 'Content-Type': 'text/event-stream' });
    channel.write(new TextEncoder().encode(':\n\n'));
  });
  try {
    const head = await t.head;
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /\r\nX-Request-Id: req-7\r\n/);
    assert.match(head, /\r\nContent-Type: text\/event-stream\r\n/);
    // Headers given to writeHead alone are not kept by node:http for the life of the stream.
    assert.deepEqual(response!.getHeaderNames(), []);
  } finally {
    await t.close();
  }
});

test('ending a stream whose client already went does not end the destroyed socket again', async () => {
  let channel: Http1Channel | undefined;
  let socket: Socket | undefined;
  const t = await exchange((res) => {
    socket = res.socket!;
    channel = new Http1Channel(res, new WriteBatch());
    channel.start({});
  });
  try {
    await t.head;
    const closed = once(socket!, 'close');
    t.client.destroy();
    await closed;
    assert.equal(channel!.closed, true);
    let ended = 0;
    socket!.end = () => {
      ended++;
      return socket!;
    };
    channel!.write(new TextEncoder().encode('late'));
    channel!.end();
    assert.equal(ended, 0, 'no end() on a destroyed socket (it would build an error with a stack)');
    assert.equal(channel!.queuedBytes, 0, 'what was held is dropped');
  } finally {
    await t.close();
  }
});
