import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../', import.meta.url);
const doc = readFileSync(new URL('docs/embedding.md', root), 'utf8');

test('every snippet shown in docs/embedding.md is the file the tests run, unchanged', () => {
  const blocks = [...doc.matchAll(/<!-- snippet: (\S+) -->\s*```\w+\n([\s\S]*?)```/g)];
  const shown = blocks.map((m) => m[1]);
  assert.deepEqual(shown.sort(), [
    'docs/snippets/express-app.ts',
    'docs/snippets/fastify-app.js',
    'docs/snippets/hono-app.ts',
    'docs/snippets/ingest.sh',
    'docs/snippets/ingest_publisher.py',
    'examples/next-url-indexing-stats/app/api/mercure/route.ts',
    'examples/next-url-indexing-stats/lib/herald.ts',
  ]);
  for (const [, file, body] of blocks)
    assert.equal(
      body,
      readFileSync(new URL(file!, root), 'utf8'),
      `${file} differs from its copy in the doc`,
    );
});

test('docs/embedding.md has the two sections the README links to', () => {
  assert.match(doc, /^## Use Herald inside Next\.js \/ Express$/m);
  assert.match(doc, /^## Publish from any language$/m);
});

test('the README shows the same tested snippets for Next.js and for publishing from any language', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const blocks = [...readme.matchAll(/<!-- snippet: (\S+) -->\s*```\w+\n([\s\S]*?)```/g)];
  assert.ok(blocks.length >= 3, 'the README embeds the snippets');
  for (const [, file, body] of blocks)
    assert.equal(
      body,
      readFileSync(new URL(file!, root), 'utf8'),
      `${file} differs from its copy in the README`,
    );
  assert.match(readme, /^## Use Herald inside Next\.js \/ Express$/m);
  assert.match(readme, /^## Publish from any language$/m);
});
