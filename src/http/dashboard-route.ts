import { statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import type { HeraldExchange } from './exchange.ts';
import { sendJson } from './respond.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** GET /dashboard/*: the built admin app, plus its config. */
export function handleDashboard(ctx: HttpContext, ex: HeraldExchange): void {
  const url = ex.url;
  const rest = url.pathname === '/dashboard' ? '/' : url.pathname.slice('/dashboard'.length);
  if (rest === '/config.json') {
    const config: Record<string, unknown> = { dev: ctx.options.dev, hubUrl: ctx.options.path };
    // Only a dev hub on a developer's own machine hands out an admin token.
    if (ctx.options.dev && ctx.options.devAdminToken) config['token'] = ctx.options.devAdminToken;
    sendJson(ex, 200, config);
    return;
  }
  const root = ctx.options.dashboardDir;
  if (!root)
    throw new HeraldError(ErrorCode.notFound, 'dashboard is not built (run: npm run build:dashboard)');
  const file = resolveInside(root, rest === '/' ? '/index.html' : rest);
  let path = file;
  try {
    if (!statSync(path).isFile()) path = join(root, 'index.html');
  } catch {
    // Client-side routes fall back to the app shell; missing assets are a 404.
    if (extname(rest) !== '') throw new HeraldError(ErrorCode.notFound, `no dashboard file ${rest}`);
    path = join(root, 'index.html');
  }
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new HeraldError(ErrorCode.notFound, 'dashboard is not built (run: npm run build:dashboard)');
  }
  const immutable = path.includes(`${sep}assets${sep}`);
  ex.respond(
    200,
    {
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      'Content-Length': String(size),
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
    },
    { file: path, size },
  );
}

function resolveInside(root: string, rel: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    throw new HeraldError(ErrorCode.badRequest, 'malformed path');
  }
  const full = normalize(join(root, decoded));
  if (!full.startsWith(normalize(root + sep)) && full !== normalize(root))
    throw new HeraldError(ErrorCode.notFound, 'no such file');
  return full;
}
