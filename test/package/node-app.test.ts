import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { build, type Plugin } from 'vite';
import { startRedis } from '../support/redis-server.ts';
import { freshApp, stopProcess, waitForOutput, type FreshApp } from './fresh-app.ts';

const KEY = 'fresh-app-key-0123456789abcdef0123456789';

/**
 * The same round trip in both module systems: the standalone server (`startHerald`) and an
 * embedded hub (`createHub` on a node server), each delivering a publish to a `herald/client`
 * subscriber. Prints what each subscriber received as one JSON line.
 */
const roundTrip = (imports: string) => `${imports}
const http = IMPORT('node:http');
const until = (check) => new Promise((resolve, reject) => {
  const t0 = Date.now();
  const tick = () => (check() ? resolve() : Date.now() - t0 > 10000 ? reject(new Error('timed out')) : setTimeout(tick, 10));
  tick();
});
async function main() {
  const herald = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: KEY, logLevel: 'silent' });
  const url = 'http://127.0.0.1:' + herald.port + herald.config.path;
  const got = [];
  const sub = subscribe({
    url, transport: 'sse', topics: ['https://fresh.example/{id}'],
    token: await mintToken({ secret: KEY, subscribe: ['*'] }),
    onUpdate: (u) => got.push(u),
  });
  await until(() => sub.status === 'open');
  const publisher = createPublisher({ url, token: await mintToken({ secret: KEY, publish: ['*'] }) });
  const id = await publisher.publish('https://fresh.example/1', { n: 1 });
  await until(() => got.length === 1);
  sub.close();
  await publisher.close();
  await herald.close();

  const hub = await createHub({ jwtKey: KEY, anonymous: true, logLevel: 'silent', basePath: '/hub' });
  const server = http.createServer(hub.handle);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const embedded = [];
  const sub2 = subscribe({
    url: 'http://127.0.0.1:' + server.address().port + '/hub/.well-known/mercure', transport: 'sse',
    topics: ['https://fresh.example/e'], onUpdate: (u) => embedded.push(u),
  });
  await until(() => sub2.status === 'open');
  const update = await hub.publish({ topic: 'https://fresh.example/e', data: { n: 2 } });
  await until(() => embedded.length === 1);
  sub2.close();
  await hub.close();
  server.close();
  console.log(JSON.stringify({ id, standalone: got[0], embeddedId: update.id, embedded: embedded[0] }));
}
`;

const esm = roundTrip(`import { createHub, startHerald, mintToken } from 'herald';
import { subscribe, createPublisher } from 'herald/client';
const IMPORT = () => http_;
import * as http_ from 'node:http';
const KEY = '${KEY}';`).concat('await main();\n');

const cjs = roundTrip(`'use strict';
const { createHub, startHerald, mintToken } = require('herald');
const { subscribe, createPublisher } = require('herald/client');
// herald/react loads through require too, with the app's React.
if (typeof require('herald/react').useTopic !== 'function') throw new Error('herald/react: no useTopic');
const IMPORT = require;
const KEY = '${KEY}';`).concat('main().catch((e) => { console.error(e); process.exit(1); });\n');

/**
 * A hub on a real redis-server from the package: a publish runs the log's Lua scripts and a
 * patch the state's, which must have shipped (dist/broker/lua/) and load in either module system.
 */
const redisRoundTrip = (imports: string) => `${imports}
async function main() {
  const hub = await createHub({ redis: process.env.REDIS_URL, jwtKey: '${KEY}', logLevel: 'silent' });
  const stored = await hub.publish({ topic: 'https://fresh.example/r', data: 'x' });
  await hub.publish({ topic: 'https://fresh.example/s', patch: { $inc: { n: 2 } } });
  const state = await hub.hub.state.get('https://fresh.example/s');
  await hub.close();
  console.log(JSON.stringify({ stored: typeof stored.id, state: state.state }));
}
`;
const redisEsm = redisRoundTrip(`import { createHub } from 'herald';`).concat('await main();\n');
const redisCjs = redisRoundTrip(`'use strict';\nconst { createHub } = require('herald');`).concat(
  'main().catch((e) => { console.error(e); process.exit(1); });\n',
);

/** What a strict TypeScript app writes; the @ts-expect-error lines fail if the types were `any`. */
const consumerTs = `import { createHub, mintToken, HeraldError, type HeraldHub, type HeraldOptions, type Update } from 'herald';
import { subscribe, type HeraldSubscription, type HeraldUpdate } from 'herald/client';
import { HeraldProvider, useTopic } from 'herald/react';

export async function make(): Promise<string> {
  const options: HeraldOptions = { jwtKey: 'k', basePath: '/hub', maxConnections: 10, anonymous: true };
  const hub: HeraldHub = await createHub(options);
  const update: Update = await hub.publish({ topic: 'https://a.example/x', data: { n: 1 } });
  const many: Update[] = await hub.publish([{ topics: ['https://a.example/y'], data: 'x' }]);
  // @ts-expect-error maxConnections is a number
  const bad: HeraldOptions = { maxConnections: 'many' };
  void bad;
  const token: string = await mintToken({ secret: 'k', subscribe: ['*'] });
  const sub: HeraldSubscription = subscribe({
    url: 'https://hub.example/.well-known/mercure',
    topics: ['https://a.example/{id}'],
    token,
    onUpdate(u: HeraldUpdate) {
      const text: string = u.data;
      void text;
    },
  });
  // @ts-expect-error a subscription needs onUpdate
  subscribe({ url: 'x', topics: [] });
  sub.close();
  const e: unknown = new Error('x');
  if (e instanceof HeraldError) return e.code;
  return update.id + many.length;
}

export function Count() {
  const { data, status } = useTopic<number>('https://a.example/count', { initial: 0 });
  const n: number = data;
  return HeraldProvider({ url: 'https://hub.example/.well-known/mercure', children: \`\${n} \${status}\` });
}
`;

const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      lib: ['ES2023', 'DOM'],
      types: ['node'],
    },
    files: module === 'node16' ? ['consumer.ts', 'consumer.cts'] : ['consumer.ts'],
  });

describe('Herald installed from its tarball into a new Node app', () => {
  let app: FreshApp;
  before(
    async () => {
      app = await freshApp('node', {
        install: ['typescript@6.0.3', '@types/node@20.19.43', 'react@19.3.1', '@types/react@19.3.0'],
        files: {
          'esm.mjs': esm,
          'cjs.cjs': cjs,
          'redis-esm.mjs': redisEsm,
          'redis-cjs.cjs': redisCjs,
          'consumer.ts': consumerTs,
          // The same consumer as CommonJS: `import` compiles to require(), so types come from `require`.
          'consumer.cts': consumerTs.replace(/^export function Count[\s\S]*$/m, ''),
          'tsconfig.node16.json': tsconfig('node16', 'node16'),
          'tsconfig.bundler.json': tsconfig('esnext', 'bundler'),
        },
      });
    },
    { timeout: 300_000 },
  );
  after(() => app?.remove());

  const check = (out: string) => {
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<
      string,
      { id: string; data: string } | string
    >;
    // JSON drops the update's undefined `type` and `topics` (SSE carries neither).
    assert.deepEqual(r['standalone'], { id: r['id'], data: '{"n":1}' });
    assert.equal((r['embedded'] as { id: string }).id, r['embeddedId']);
    assert.equal((r['embedded'] as { data: string }).data, '{"n":2}');
  };

  test('plain Node ESM: import from herald serves, publishes and delivers', async () => {
    check((await app.run(process.execPath, ['esm.mjs'])).stdout);
  });

  test('CommonJS: require(herald) serves, publishes and delivers', async () => {
    check((await app.run(process.execPath, ['cjs.cjs'])).stdout);
  });

  test('the Redis Lua scripts ship and run from ESM and CommonJS on a real redis-server', async () => {
    assert.ok(existsSync(join(app.dir, 'node_modules/herald/dist/broker/lua/log-publish.lua')));
    const redis = await startRedis();
    try {
      // Both share one Redis: the second increment adds to the first's.
      for (const [i, file] of ['redis-esm.mjs', 'redis-cjs.cjs'].entries()) {
        const out = (await app.run(process.execPath, [file], { REDIS_URL: redis.url })).stdout;
        const got: unknown = JSON.parse(out.trim().split('\n').pop()!);
        assert.deepEqual(got, { stored: 'string', state: { n: 2 * (i + 1) } }, file);
      }
    } finally {
      await redis.stop();
    }
  });

  test('strict TypeScript type-checks against the shipped declarations (node16 ESM + CJS, bundler)', async () => {
    const tsc = join(app.dir, 'node_modules/typescript/bin/tsc');
    await app.run(process.execPath, [tsc, '-p', 'tsconfig.node16.json']);
    await app.run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json']);
  });

  test('no TypeScript transpiler is in the runtime dependency tree', async () => {
    const { stdout } = await app.run('npm', ['ls', '--all', '--omit=dev', '--json']);
    type Tree = { dependencies?: Record<string, Tree> };
    const names: string[] = [];
    const walk = (t: Tree): void =>
      Object.entries(t.dependencies ?? {}).forEach(([name, sub]) => (names.push(name), walk(sub)));
    walk((JSON.parse(stdout) as Tree).dependencies!['herald']!);
    assert.ok(names.includes('jose'), 'the walk saw herald’s own dependencies');
    for (const transpiler of ['tsx', 'typescript', 'esbuild', 'ts-node', '@swc/core'])
      assert.ok(!names.includes(transpiler), `${transpiler} is not a runtime dependency`);
  });

  test('npx herald serves the built dashboard from compiled JavaScript', async () => {
    const { stdout } = await app.run('npx', ['herald', '--version']);
    assert.match(stdout, /^herald \d+\.\d+\.\d+/);
    const hub = app.start('npx', ['herald', 'serve', '--port', '0', '--host', '127.0.0.1', '--jwt-key', KEY]);
    try {
      const [, url] = await waitForOutput(hub, /"event":"listening".*?"url":"([^"]+)"/);
      const base = url!.replace('localhost', '127.0.0.1');
      const page = await fetch(`${base}/dashboard/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html);
      assert.ok(script, `the dashboard page loads its bundle: ${html.slice(0, 300)}`);
      const asset = await fetch(`${base}${script[1]}`);
      assert.equal(asset.status, 200);
      assert.ok((await asset.text()).length > 1000);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    } finally {
      await stopProcess(hub);
    }
  });

  /** Builds `code` as a browser library with Vite from the app folder; fails on any Node module. */
  async function browserBundle(code: string, external: RegExp[]) {
    app.write({ 'entry.js': code });
    const loaded: string[] = [];
    const noNode: Plugin = {
      name: 'no-node-modules',
      enforce: 'pre',
      resolveId(id, importer) {
        const bare = id.replace(/^node:/, '');
        if (id.startsWith('node:') || builtinModules.includes(bare))
          this.error(`browser bundle imports the Node module "${id}" (from ${importer})`);
        return null;
      },
      load(id) {
        loaded.push(id);
        return null;
      },
    };
    const out = await build({
      configFile: false,
      root: app.dir,
      logLevel: 'silent',
      plugins: [noNode],
      build: {
        write: false,
        lib: { entry: join(app.dir, 'entry.js'), formats: ['es'], fileName: 'entry' },
        rollupOptions: { external },
      },
    });
    const chunks = (Array.isArray(out) ? out[0]! : out) as { output: { code?: string }[] };
    const js = chunks.output.map((c) => c.code ?? '').join('');
    return { gzipped: gzipSync(js).length, loaded };
  }

  // Budgets: the sizes when the package was first built were 9 640 and 10 747 bytes gzipped;
  // draft-08 support brought them to about 10 600 and 11 800, as the client then shared the
  // hub's URI-template matcher and error classes. The client's own matcher
  // (src/client/topic-match.ts) brought them down to about 8 560 and 9 780; later work (the
  // hub's event names and stats topic exported for the dashboard, the shared subscription
  // state, safe publish retries) came to 8 790 and 9 830 (`node scripts/bundle-size.mjs`).
  // The budgets stay under the "about 9 KB and 10 KB" and leave about 2 % of room.
  const CLIENT_BUDGET = 9_000;
  const REACT_BUDGET = 10_000;

  test('herald/client bundles for the browser with Vite, no Node module, within its size budget', async () => {
    const { gzipped, loaded } = await browserBundle("export * from 'herald/client';\n", []);
    assert.ok(
      loaded.some((id) => id.includes('/node_modules/herald/dist/client/')),
      'built from the package',
    );
    assert.ok(gzipped <= CLIENT_BUDGET, `herald/client is ${gzipped} B gzipped, budget ${CLIENT_BUDGET} B`);
  });

  test('herald/react uses the app’s React (one copy) and stays within its size budget', async () => {
    const { gzipped } = await browserBundle("export * from 'herald/react';\n", [/^react($|\/)/]);
    assert.ok(gzipped <= REACT_BUDGET, `herald/react is ${gzipped} B gzipped, budget ${REACT_BUDGET} B`);
    // Bundled with React: every React module comes from the app's own node_modules/react.
    const { loaded } = await browserBundle("export * from 'herald/react';\nexport * from 'react';\n", []);
    const reactModules = loaded.filter((id) => /\/node_modules\/react\//.test(id));
    assert.ok(reactModules.length > 0, 'React itself was bundled');
    for (const id of reactModules) assert.ok(id.startsWith(join(app.dir, 'node_modules/react/')), id);
    assert.ok(!existsSync(join(app.dir, 'node_modules/herald/node_modules/react')), 'herald brings no React');
  });
});
