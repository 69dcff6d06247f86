// `npm run example -- <name> [--port N]`: starts examples/<name>/start.ts and keeps it running
// until Ctrl-C. Each example exports `start(opts?: { port?: number }) => Promise<{ url, close() }>`.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Example {
  start(opts?: { port?: number }): Promise<{ url: string; close(): Promise<void> }>;
}

const examplesDir = fileURLToPath(new URL('../examples/', import.meta.url));
const available = readdirSync(examplesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'shared')
  .map((d) => d.name);

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run example -- <name> [--port N]\nexamples: ${available.join(', ')}`);
  process.exit(2);
}
const portAt = rest.indexOf('--port');
const port = portAt >= 0 ? Number(rest[portAt + 1]) : 3000;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('--port must be a whole number from 0 to 65535');
  process.exit(2);
}

const example = (await import(`../examples/${name}/start.ts`)) as Example;
const running = await example.start({ port });
console.log(`${name} is running: open ${running.url}  (Ctrl-C to stop)`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}
