import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build } from 'vite';
import type { HubObserver } from '../../src/hub/observer.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds a test page (`test/<name>/index.html` and its sources) with Vite into a fresh
 * temporary folder, `herald/client` and `herald/react` taken from this repository's sources.
 * Asset paths are relative, so the build can be served under any path. Returns the folder.
 */
export async function buildPage(name: string, options: { react?: boolean } = {}): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), `herald-${name}-`));
  await build({
    configFile: false,
    root: join(root, 'test', name),
    logLevel: 'warn',
    plugins: options.react === false ? [] : [react()],
    resolve: {
      alias: {
        'herald/client': join(root, 'src/client/index.ts'),
        'herald/react': join(root, 'src/react/index.ts'),
      },
    },
    base: './',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return outDir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
};

/**
 * Serves a page built by a test (Vite output) from its own origin on 127.0.0.1:0, so the hub
 * sees a cross-origin browser as in production.
 */
export function serveDir(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
    try {
      const body = readFileSync(join(dir, path === '/' ? 'index.html' : path));
      res.writeHead(200, { 'Content-Type': TYPES[extname(path) || '.html'] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Hub subscription events through the observer seam, so a test waits on them instead of sleeping. */
export class HubWatch {
  resumes = 0;
  #waiters: (() => void)[] = [];
  readonly observer: HubObserver = {
    onSubscribe: () => this.#poke(),
    onUnsubscribe: () => this.#poke(),
    onResume: () => {
      this.resumes++;
      this.#poke();
    },
  };
  #poke(): void {
    // After the hub finished updating its sets.
    queueMicrotask(() => this.#waiters.forEach((w) => w()));
  }
  /** Resolves when `pred` holds, re-checked whenever the hub (un)registers or resumes a subscription. */
  until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
      const w = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve();
      };
      this.#waiters.push(w);
    });
  }
}
