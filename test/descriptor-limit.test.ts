import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectionCap, descriptorReserve } from '../src/cli/descriptor-limit.ts';

// herald serve itself, under a lowered ulimit -n: test/abuse/ws-idle.test.ts.

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
});
