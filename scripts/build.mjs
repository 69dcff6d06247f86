// `npm run build`: compiles src/ into dist/, the files the package ships.
//   dist/**/*.js, *.d.ts, *.js.map   ES modules, from tsc (tsconfig.build.json)
//   dist/{,client/,react/}index.cjs  CommonJS bundles of the three entries, for `require()`
//   dist/**/*.d.cts                  the declarations again, read as CommonJS by TypeScript
//   dist/broker/lua/*.lua            the Redis scripts, read at run time (src/broker/redis-scripts.ts)
// `--if-stale` skips the work when dist/ is newer than every file under src/.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const STAMP = join(dist, '.built');

/** The package entries: source, and where the CommonJS bundle goes. */
const ENTRIES = [
  { src: 'src/index.ts', cjs: 'dist/index.cjs' },
  { src: 'src/client/index.ts', cjs: 'dist/client/index.cjs' },
  { src: 'src/react/index.ts', cjs: 'dist/react/index.cjs' },
];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function isStale() {
  let builtAt;
  try {
    builtAt = statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [...walk(join(root, 'src')), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];
  return inputs.some((f) => statSync(f).mtimeMs > builtAt);
}

/** Rewrites the relative specifiers of a declaration file (`./x.ts` → `./x.js` or `./x.cjs`). */
function retarget(text, ext) {
  return text.replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)(?:\.tsx?|\.js)(['"])/g,
    (_m, head, path, tail) => `${head}${path}${ext}${tail}`,
  );
}

// In a bundle, `import.meta.url` is the bundle's (dist/*.cjs), not redis-scripts.js's: point the
// scripts' directory at dist/broker/lua/ from there.
const luaDirInBundle = {
  name: 'lua-dir-in-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]broker[\\/]redis-scripts\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const from = "new URL('./lua/', import.meta.url)";
      if (!text.includes(from)) throw new Error(`${args.path} no longer has ${from}`);
      return { contents: text.replace(from, "new URL('./broker/lua/', import.meta.url)"), loader: 'ts' };
    });
  },
};

async function buildAll() {
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);

  // tsc copies no data files: the Lua scripts go next to the module that reads them.
  cpSync(join(root, 'src/broker/lua'), join(dist, 'broker/lua'), {
    recursive: true,
    filter: (f) => statSync(f).isDirectory() || f.endsWith('.lua'),
  });

  // Declarations: tsc keeps the sources' `.ts` specifiers; consumers resolve `.js` (ESM) and,
  // in the CommonJS copies, `.cjs`, so `require` users get types that are CommonJS too.
  for (const file of walk(dist).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, retarget(text, '.js'));
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), retarget(text, '.cjs'));
  }

  // CommonJS: one bundle per entry (dependencies stay external). `import.meta.url` becomes this
  // file's URL; the bundles sit at the same depth as the ES entries, so paths built from it
  // (the dashboard's dist/) resolve alike.
  for (const entry of ENTRIES) {
    await build({
      entryPoints: [join(root, entry.src)],
      outfile: join(root, entry.cjs),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      sourcemap: true,
      jsx: 'automatic',
      logLevel: 'warning',
      define: { 'import.meta.url': '__herald_import_meta_url' },
      plugins: [luaDirInBundle],
      banner: { js: "const __herald_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    });
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);
await buildAll();
console.log('built dist/');
