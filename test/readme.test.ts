import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { envName, optionDefs } from '../src/config/definitions.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README flag table lists every flag with its environment variable', () => {
  for (const def of optionDefs) {
    assert.match(readme, new RegExp(`\\| \`--${def.flag}\` \\| \`${envName(def.flag)}\` \\|`), def.flag);
  }
});

test('the README shows the two commands a new user needs', () => {
  assert.match(readme, /npm install && npm start/);
  assert.match(readme, /npm test/);
});
