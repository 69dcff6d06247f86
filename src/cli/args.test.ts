import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliDetails } from './access.ts';
import { parseCliArgs } from './args.ts';
import { signingSecret } from './key-from-env.ts';

const options = { port: { type: 'string' }, private: { type: 'boolean' } } as const;

test('argument mistakes are told in the words of a CLI', () => {
  assert.equal(parseCliArgs({ args: ['--port', '1'], options }).values.port, '1');
  assert.throws(
    () => parseCliArgs({ args: ['--prot', '1'], options }),
    /^ConfigError: unknown option --prot \(did you mean --port\?\)$/,
  );
  assert.throws(
    () => parseCliArgs({ args: ['--zzzzzz'], options }),
    /^ConfigError: unknown option --zzzzzz$/,
  );
  assert.throws(() => parseCliArgs({ args: ['--port'], options }), /--port needs a value/);
  assert.throws(() => parseCliArgs({ args: ['--private=yes'], options }), /--private takes no value/);
  assert.throws(() => parseCliArgs({ args: ['extra'], options }), /unexpected argument extra/);
});

test('the signing secret: the flag, then the environment, then the dev key', () => {
  assert.equal(signingSecret('from-flag', { HERALD_JWT_KEY: 'from-env' }), 'from-flag');
  assert.equal(
    signingSecret(undefined, { HERALD_JWT_KEY: 'from-env', HERALD_PUBLISHER_JWT_KEY: 'p' }),
    'from-env',
  );
  assert.equal(signingSecret(undefined, { HERALD_PUBLISHER_JWT_KEY: 'publisher-key' }), 'publisher-key');
});

test('token grants from flags: exact topics and URL patterns per action', () => {
  assert.deepEqual(cliDetails({ publish: ['/a'], subscribePattern: ['/b/:id'], payload: { u: 1 } }), [
    { actions: ['publish'], topics: [{ match: '/a' }] },
    { actions: ['subscribe'], topics: [{ match: '/b/:id', match_type: 'urlpattern' }], payload: { u: 1 } },
  ]);
  assert.deepEqual(cliDetails({}), []);
});
