// URL indexing stats on Herald: a worker checks URLs and publishes per-project numbers; the
// page shows them live for all projects or one. Run it: npm run example -- url-indexing-stats
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mintToken } from '../../src/auth/mint.ts';
import { closeServer, listen, AppError, sendHtml, sendJson } from '../shared/http.ts';
import { hubCookie, startExampleHub, type ExampleHub } from '../shared/herald.ts';
import type { ExampleOptions } from '../shared/options.ts';
import { startRedis } from '../shared/processes.ts';
import { Teardown } from '../shared/teardown.ts';
import { hubPublisher } from '../shared/publisher.ts';
import { startIndexChecker } from './index-checker.ts';
import { IndexingWorker, statsTopic, type UrlJob } from './worker.ts';

/** Every stats topic, as a URI template (for tokens). */
const statsScope = 'https://herald.example/url-stats/{+scope}';
const page = readFileSync(new URL('page.html', import.meta.url), 'utf8');

/** The URLs each project wants indexed (served by the local stand-in checker). */
export const projects: Record<string, number> = { shop: 40, blog: 25, docs: 15 };
const jobsFor = (projectId?: string): UrlJob[] =>
  Object.entries(projects)
    .filter(([id]) => !projectId || id === projectId)
    .flatMap(([id, count]) =>
      Array.from({ length: count }, (_, i) => ({
        projectId: id,
        url: `https://${id}.example/page/${i + 1}`,
      })),
    );

export async function start(opts: ExampleOptions & { delayMs?: number } = {}) {
  const teardown = new Teardown();
  return teardown.guard(() => build(opts, teardown));
}

async function build(opts: ExampleOptions & { delayMs?: number }, teardown: Teardown) {
  const checker = await startIndexChecker();
  teardown.add('indexing API stand-in', checker.server, closeServer);
  // The hub is started once the app's origin (for CORS) is known.
  const parts: { hub?: ExampleHub; worker?: IndexingWorker } = {};

  const app = await listen(opts.port ?? 0, async (req, res, url) => {
    const { hub, worker } = parts;
    if (!hub || !worker) throw new AppError(503, 'starting');
    const projectId = url.searchParams.get('projectId') ?? undefined;
    if (projectId !== undefined && !(projectId in projects))
      throw new AppError(404, `no project named ${JSON.stringify(projectId.slice(0, 50))}`);

    if (req.method === 'GET' && url.pathname === '/') {
      const config = {
        hub: hub.hubUrl(req),
        topic: statsTopic(projectId),
        projectId,
        projects: Object.keys(projects),
      };
      // The page's token may read the stats topics and nothing else.
      const token = await hub.subscriberToken('dashboard-user', [statsScope]);
      res.setHeader('Set-Cookie', hubCookie(token));
      return sendHtml(res, page.replace('__CONFIG__', JSON.stringify(config)));
    }
    if (req.method === 'POST' && url.pathname === '/api/recheck') {
      // URLs already waiting are not queued twice: the answer says how many were added.
      return sendJson(res, 202, { queued: worker.enqueue(jobsFor(projectId)) });
    }
    throw new AppError(404, `no route for ${req.method} ${url.pathname}`);
  });
  teardown.add('app server', app.server, closeServer);

  // Redis holds the hub's history and the counters, so every hub node agrees on them.
  const redis = teardown.add('redis-server', await startRedis({ port: opts.redisPort }), (r) => r.stop());
  const secret = randomBytes(32).toString('hex');
  const hub = (parts.hub = teardown.add(
    'hub',
    await startExampleHub(app.origin, { jwtKey: secret, redis: redis.url, port: opts.hubPort ?? 0 }),
    (h) => h.close(),
  ));
  // The worker's own token: it may publish stats and nothing else.
  const workerToken = await mintToken({ secret, subject: 'indexing-worker', publish: [statsScope] });
  const worker = (parts.worker = new IndexingWorker({
    checkerUrl: checker.origin,
    publish: hubPublisher(`${hub.herald.url}${hub.herald.config.path}`, workerToken),
    delayMs: opts.delayMs ?? 150,
  }));
  teardown.add('worker', worker, (w) => w.stop());
  worker.enqueue(jobsFor());

  return {
    url: app.origin,
    endpoints: { hub: hub.herald.url + hub.herald.config.path, redis: redis.url },
    worker,
    close: () => teardown.run(),
  };
}
