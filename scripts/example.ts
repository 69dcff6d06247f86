// `npm run example -- <name> [--port N]`: starts examples/<name>/start.ts (its own app server
// plus an in-process Herald hub) and prints the URL to open. Ctrl-C stops both.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Example {
  start(opts?: { port?: number }): Promise<{ url: string; close(): Promise<void> }>;
}

const examplesDir = join(import.meta.dirname, '..', 'examples');
const available = readdirSync(examplesDir).filter((d) => existsSync(join(examplesDir, d, 'start.ts')));

function fail(message: string): never {
  console.error(`${message}\nusage: npm run example -- <name> [--port N]\nexamples: ${available.join(', ')}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('-'));
if (!name) fail('which example?');
if (!available.includes(name)) fail(`no example named "${name}"`);
const portArg = args.indexOf('--port');
let port = 0;
if (portArg !== -1) {
  port = Number(args[portArg + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port needs a number from 0 to 65535');
}

const example = (await import(pathToFileURL(join(examplesDir, name, 'start.ts')).href)) as Example;
const running = await example.start({ port });
console.log(`${name} is running: open ${running.url}`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void running.close().then(() => process.exit(0));
  });
}
