#!/usr/bin/env -S node --max-semi-space-size=2
// A 2 MB young-generation semi-space (V8's default grows to 16 MB) keeps an idle SSE
// connection near 11 KB instead of 13 KB of RSS, for ~5 % more CPU per delivery under load
// (bench/README.md). NODE_OPTIONS or `node --max-semi-space-size=N bin/herald.js` override it.
// Runs the TypeScript sources directly through tsx, so `npx herald` never serves a stale build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
