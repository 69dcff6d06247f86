// lib/herald.ts: the app's one hub, created on first use (not while `next build` collects
// pages) and kept on globalThis so `next dev` reloads do not start a second one.
import { createHub, type HeraldHub } from 'herald';

const state = globalThis as typeof globalThis & { heraldHub?: Promise<HeraldHub> };

export function getHub(): Promise<HeraldHub> {
  state.heraldHub ??= createHub({
    path: '/api/mercure', // the public path of app/api/mercure/route.ts
    jwtKey: process.env['HERALD_JWT_KEY'],
    redis: process.env['HERALD_REDIS_URL'], // the counters and history live in Redis
  }).then((hub) => {
    // `next start` waits for open responses before it exits: on SIGTERM the hub ends its
    // streams with a retry hint, so the pages reconnect to the next server at once. Next then
    // also waits for idle keep-alive sockets, which can take long: once the hub is closed, the
    // process gets two seconds to finish on its own (an unref'd timer) and then exits.
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.once(signal, () => {
        void hub.close().finally(() => setTimeout(() => process.exit(0), 2000).unref());
      });
    return hub;
  });
  return state.heraldHub;
}

/** Every stats topic, as a URI template: what the page's token may read and the worker's may write. */
export const STATS_SCOPE = 'https://herald.example/url-stats/{+scope}';

export const statsTopic = (projectId?: string) =>
  `https://herald.example/url-stats/${projectId ? `projects/${projectId}` : 'all'}`;

export const PROJECTS = ['shop', 'blog', 'docs'];
