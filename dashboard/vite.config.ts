import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** Where `vite dev` forwards hub requests: a real hub or `dashboard/dev-fake-hub.ts`. */
const hub = process.env.HERALD_DEV_HUB ?? 'http://127.0.0.1:22001';

// Build from the repository root with `npx vite build --config dashboard/vite.config.ts`.
export default defineConfig({
  root,
  base: '/dashboard/',
  plugins: [react()],
  // The dashboard uses the client SDK as an app would; here it comes from this repository.
  resolve: { alias: { 'herald/client': fileURLToPath(new URL('../src/client/index.ts', import.meta.url)) } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The hub serves these files; no source maps shipped to production browsers.
    sourcemap: false,
  },
  server: {
    proxy: {
      '/.well-known': { target: hub, changeOrigin: true },
      '/dashboard/config.json': { target: hub, changeOrigin: true },
    },
  },
});
