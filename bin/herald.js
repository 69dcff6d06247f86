#!/usr/bin/env -S node --max-semi-space-size=2
// A 2 MB young-generation semi-space (V8's default grows to 16 MB) keeps an idle SSE
// connection near 11 KB instead of 13 KB of RSS, for ~5 % more CPU per delivery under load
// (bench/README.md). NODE_OPTIONS or `node --max-semi-space-size=N bin/herald.js` override it.
// Runs the compiled CLI from dist/ (`npm run build`); the published package ships it built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'herald: dist/ is missing: this is a source checkout. Run `npm run build` first\n' +
      '(or `node --import tsx src/cli/main.ts ...` to run the TypeScript sources).\n',
  );
  process.exit(1);
}
await import(main.href);
