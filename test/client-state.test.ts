import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { subscribe, type SnapshotPayload, type StatePayload } from '../src/client/index.ts';
import { startHerald } from '../src/start.ts';

test('the client SDK gets the snapshot, then each state, and resumes from the last state id', async () => {
  const key = 'client-state-secret-client-state-secret';
  const hub = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: key,
    anonymous: true,
    logLevel: 'silent',
  });
  const topic = 'https://ex.com/client/state';
  const token = await mintToken({ secret: key, publish: ['*'] });
  const url = `${hub.url}/.well-known/mercure`;
  const post = async (body: unknown): Promise<string> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return res.text();
  };
  await post({ topics: topic, patch: { $inc: { n: 1 } } });
  const snapshots: SnapshotPayload[] = [];
  const states: StatePayload[] = [];
  let wake: () => void = () => {};
  const sub = subscribe({
    url,
    topics: [topic],
    snapshot: true,
    throttle: 50,
    onUpdate: () => {},
    onSnapshot: (s) => {
      snapshots.push(s);
      wake();
    },
    onState: (s) => {
      states.push(s);
      wake();
    },
  });
  const until = async (pred: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!pred()) {
      assert.ok(Date.now() < deadline, 'timed out');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
  try {
    assert.equal(sub.transport, 'sse');
    await until(() => snapshots.length === 1);
    assert.deepEqual(snapshots[0]!.states[0]!.state, { n: 1 });
    let last = '';
    for (let i = 0; i < 20; i++) last = await post({ topics: topic, patch: { $inc: { n: 1 } } });
    await until(() => (states.at(-1)?.state as { n: number } | undefined)?.n === 21);
    assert.ok(states.length < 20, `${states.length} states for 20 changes`);
    assert.equal(sub.lastEventId, last);
  } finally {
    sub.close();
    await hub.close();
  }
});

test('asking the WebSocket transport for a snapshot is refused up front', () => {
  assert.throws(
    () =>
      subscribe({
        url: 'http://127.0.0.1:1/.well-known/mercure',
        topics: ['/x'],
        transport: 'ws',
        snapshot: true,
        WebSocket: class {} as never,
        onUpdate: () => {},
      }),
    /SSE transport/,
  );
});
