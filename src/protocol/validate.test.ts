import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeraldError } from './errors.ts';
import { validatePublishInput } from './validate.ts';

const ok = { topics: ['https://example.com/a'], data: 'd', private: false };
const refuses = (input: object, code: string, reason: RegExp) =>
  assert.throws(
    () => validatePublishInput({ ...ok, ...input }),
    (e: unknown) => e instanceof HeraldError && e.code === code && reason.test(e.message),
  );

test('a well-formed update passes and keeps its optional fields', () => {
  assert.deepEqual(
    validatePublishInput({ ...ok, id: 'urn:x', type: 't', retry: '15' as unknown as number }),
    {
      ...ok,
      id: 'urn:x',
      type: 't',
      retry: 15,
    },
  );
});

test('each malformed field is refused with its own code and reason', () => {
  refuses({ topics: [] }, 'HERALD_ERR_MISSING_TOPIC', /at least one topic/);
  refuses({ topics: [''] }, 'HERALD_ERR_BAD_TOPIC', /must not be empty/);
  refuses({ topics: ['*'] }, 'HERALD_ERR_BAD_TOPIC', /reserved for selectors/);
  refuses({ topics: ['a\u0000b'] }, 'HERALD_ERR_BAD_TOPIC', /control character/);
  refuses({ topics: ['/.well-known/mercure/subscriptions/x'] }, 'HERALD_ERR_BAD_TOPIC', /reserved namespace/);
  refuses({ topics: Array(33).fill('t') }, 'HERALD_ERR_BAD_TOPIC', /at most 32 topics/);
  refuses({ id: '#frag' }, 'HERALD_ERR_BAD_ID', /must not start with "#"/);
  refuses({ id: 'earliest' }, 'HERALD_ERR_BAD_ID', /reserved/);
  refuses({ id: 'a\rb' }, 'HERALD_ERR_BAD_ID', /control character/);
  refuses({ id: 'x'.repeat(257) }, 'HERALD_ERR_BAD_ID', /longer than 256/);
  refuses({ type: 'mercure' }, 'HERALD_ERR_BAD_TYPE', /reserved/);
  refuses({ type: 'herald.gap' }, 'HERALD_ERR_BAD_TYPE', /reserved/);
  refuses({ type: 'a\nb' }, 'HERALD_ERR_BAD_TYPE', /control character/);
  refuses({ retry: '-1' }, 'HERALD_ERR_BAD_RETRY', /non-negative integer/);
  refuses({ retry: 1.5 }, 'HERALD_ERR_BAD_RETRY', /non-negative integer/);
  refuses({ data: 5 }, 'HERALD_ERR_BAD_DATA', /data must be a string/);
});
