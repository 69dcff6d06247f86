// `npm run example -- <name> [--port N] [--hub-port N] [--redis-port N] [--postgres-port N]`:
// starts examples/<name>/start.ts (its own app server, an in-process Herald hub, and the Redis
// or PostgreSQL it needs) and prints the URL to open. Ctrl-C (SIGINT) or SIGTERM stops all of
// it and removes what it created. Each port may also come from the environment
// (EXAMPLE_PORT, EXAMPLE_HUB_PORT, EXAMPLE_REDIS_PORT, EXAMPLE_POSTGRES_PORT); a flag wins.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExampleOptions } from '../examples/shared/options.ts';

interface Example {
  start(opts?: ExampleOptions): Promise<{
    url: string;
    /** What else runs, for the user: the hub's URL, Redis's, PostgreSQL's. */
    endpoints: Record<string, string>;
    close(): Promise<void>;
  }>;
}

const examplesDir = join(import.meta.dirname, '..', 'examples');
const available = readdirSync(examplesDir).filter((d) => existsSync(join(examplesDir, d, 'start.ts')));
const usage =
  'usage: npm run example -- <name> [--port N] [--hub-port N] [--redis-port N] [--postgres-port N]';

function fail(message: string): never {
  console.error(`${message}\n${usage}\nexamples: ${available.join(', ')}`);
  process.exit(2);
}

const ports = {
  port: ['--port', 'EXAMPLE_PORT'],
  hubPort: ['--hub-port', 'EXAMPLE_HUB_PORT'],
  redisPort: ['--redis-port', 'EXAMPLE_REDIS_PORT'],
  postgresPort: ['--postgres-port', 'EXAMPLE_POSTGRES_PORT'],
} as const;

const args = process.argv.slice(2);
const options: ExampleOptions = {};
let name: string | undefined;
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (!arg.startsWith('-')) {
    if (name) fail(`one example at a time ("${name}" and "${arg}")`);
    name = arg;
    continue;
  }
  const key = (Object.keys(ports) as (keyof typeof ports)[]).find((k) => ports[k][0] === arg);
  if (!key) fail(`unknown option ${arg}`);
  options[key] = parsePort(arg, args[++i]);
}
for (const key of Object.keys(ports) as (keyof typeof ports)[]) {
  const fromEnv = process.env[ports[key][1]];
  if (options[key] === undefined && fromEnv) options[key] = parsePort(ports[key][1], fromEnv);
}
if (!name) fail('which example?');
if (!available.includes(name)) fail(`no example named "${name}"`);

function parsePort(what: string, value: string | undefined): number {
  const port = Number(value);
  if (!value || !/^\d+$/.test(value) || port > 65535) fail(`${what} needs a port number from 0 to 65535`);
  return port;
}

const example = (await import(pathToFileURL(join(examplesDir, name, 'start.ts')).href)) as Example;
let running: Awaited<ReturnType<Example['start']>>;
try {
  running = await example.start(options);
} catch (e) {
  console.error(`${name} could not start: ${(e as Error).message}`);
  process.exit(1);
}
console.log(`${name} is running: open ${running.url}`);
for (const [what, url] of Object.entries(running.endpoints)) console.log(`  ${what}: ${url}`);
console.log('Ctrl-C stops it.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      console.error('stopping anyway');
      process.exit(1);
    }
    stopping = true;
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`${name} did not stop cleanly: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  });
}
