// `node scripts/bundle-size.mjs`: the gzipped size of the browser bundles of `herald/client`
// and `herald/react` (React external), built from dist/ with Vite the way
// test/package/node-app.test.ts builds them from the packed tarball (run `npm run build` first).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));

async function size(code, external) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-size-'));
  try {
    writeFileSync(join(dir, 'entry.js'), code);
    const out = await build({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      resolve: {
        alias: {
          'herald/client': join(root, 'dist/client/index.js'),
          'herald/react': join(root, 'dist/react/index.js'),
        },
      },
      build: {
        write: false,
        lib: { entry: join(dir, 'entry.js'), formats: ['es'], fileName: 'entry' },
        rollupOptions: { external },
      },
    });
    const chunks = Array.isArray(out) ? out[0] : out;
    const js = chunks.output.map((c) => c.code ?? '').join('');
    return { min: js.length, gzipped: gzipSync(js).length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const client = await size("export * from 'herald/client';\n", []);
const react = await size("export * from 'herald/react';\n", [/^react($|\/)/]);
console.log(`herald/client ${client.gzipped} B gzipped (${client.min} B minified)`);
console.log(`herald/react  ${react.gzipped} B gzipped (${react.min} B minified)`);
