import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectionCap, descriptorReserve } from '../src/cli/descriptor-limit.ts';
import { HERALD_CLI, startHubProcess } from './support/hub-process.ts';

/** `herald serve` under a lowered `ulimit -n` (lowering the soft limit needs no privilege). */
const underLimit = (n: number): string[] => ['sh', '-c', `ulimit -n ${n} && exec "$0" "$@"`, ...HERALD_CLI];

const logged = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as { event?: string; maxConnections?: number; msg?: string }];
    } catch {
      return [];
    }
  });

describe('--max-connections and the descriptor limit', () => {
  test('left at its default, the cap fits the descriptors without a warning', () => {
    assert.deepEqual(connectionCap(20_000, false, 20_000), { maxConnections: 19_000 });
    assert.deepEqual(connectionCap(20_000, false, 1024), { maxConnections: 1024 - 64 });
    assert.deepEqual(connectionCap(20_000, false, 1_048_576), { maxConnections: 20_000 });
    assert.deepEqual(connectionCap(20_000, false, undefined), { maxConnections: 20_000 });
    assert.equal(descriptorReserve(100_000), 5000);
  });

  test('set explicitly, an unreachable cap is kept and warned about with what to change', () => {
    assert.deepEqual(connectionCap(5000, true, 20_000), { maxConnections: 5000 });
    const over = connectionCap(20_000, true, 20_000);
    assert.equal(over.maxConnections, 20_000);
    assert.match(over.warning ?? '', /--max-connections 20000 .*ulimit -n.*lower the cap to 19000/);
    assert.match(connectionCap(0, true, 4096).warning ?? '', /0 \(no cap\)/);
  });

  test('a first run under a low ulimit -n starts clean, and says its cap on the listening line', async () => {
    const hub = await startHubProcess(['--dev', '--port', '0', '--host', '127.0.0.1'], {}, underLimit(1000));
    try {
      const lines = logged(hub.logs);
      assert.equal(lines[0]?.event, 'listening', `first log line: ${hub.logs[0]}`);
      assert.equal(lines[0]?.maxConnections, 1000 - 64);
      assert.ok(!lines.some((l) => l.event === 'descriptor-limit'));
    } finally {
      await hub.stop();
    }
  });

  test('an explicit cap above the limit is honoured as given, with a warning', async () => {
    const hub = await startHubProcess(
      ['--dev', '--port', '0', '--host', '127.0.0.1', '--max-connections', '5000'],
      {},
      underLimit(1000),
    );
    try {
      const lines = logged(hub.logs);
      const warning = lines.find((l) => l.event === 'descriptor-limit');
      assert.match(warning?.msg ?? '', /--max-connections 5000 .*lower the cap to 936/);
      assert.equal(lines.find((l) => l.event === 'listening')?.maxConnections, 5000);
    } finally {
      await hub.stop();
    }
  });
});
