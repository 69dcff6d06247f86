import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCache } from './state-cache.ts';

test('a StateCache snapshot replaces what its selectors cover and leaves other topics alone', () => {
  const c = new StateCache();
  c.applySnapshot(
    {
      states: [
        { topic: '/a/1', state: 1, version: 5 },
        { topic: '/b', state: 'b', version: 6 },
      ],
      truncated: false,
    },
    ['/a/{x}', '/b'],
  );
  assert.equal(c.applyState({ topic: '/a/1', state: 0, version: 4 }), false, 'older state ignored');
  assert.equal(c.applyState({ topic: '/a/2', state: 2, version: 7 }), true);
  assert.deepEqual(
    c
      .applySnapshot({ states: [{ topic: '/a/2', state: 3, version: 2 }], truncated: false }, ['/a/{x}'])
      .sort(),
    ['/a/1', '/a/2'],
  );
  assert.deepEqual([...c.states.keys()].sort(), ['/a/2', '/b']);
  assert.equal(c.get('/a/2'), 3, 'a snapshot wins even with a lower version (restarted hub)');
  c.applySnapshot({ states: [], truncated: true }, ['/b']);
  assert.equal(c.get('/b'), 'b', 'a truncated snapshot removes nothing');
  assert.equal(c.applyState({ topic: '/b', state: null, version: 9 }), true);
  assert.equal(c.get('/b'), undefined);
  c.retain(['/a/2']);
  assert.deepEqual([...c.states.keys()], ['/a/2']);
  c.applySnapshot({ states: [], truncated: false }, ['/a/{', '/a/2']);
  assert.equal(c.states.size, 0, 'a bad selector is skipped, the good one still covers');
});
