// Services monitor on Herald: three background services publish their status and log lines;
// the page shows them live and comes back by itself when the hub restarts.
// Run it: npm run example -- services-monitor
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mintToken } from '../../src/auth/mint.ts';
import { AppError, closeServer, listen, sendHtml, sendJson } from '../shared/http.ts';
import { hubCookie, startExampleHub, type ExampleHub } from '../shared/herald.ts';
import type { ExampleOptions } from '../shared/options.ts';
import { startRedis } from '../shared/processes.ts';
import { Teardown } from '../shared/teardown.ts';
import { hubPublisher } from '../shared/publisher.ts';
import { createServices, logTopic, statusTopic } from './services.ts';

/** Every topic of the services (a URI template, for tokens). */
const scope = 'https://herald.example/services/{+rest}';
const page = readFileSync(new URL('page.html', import.meta.url), 'utf8');

export async function start(opts: ExampleOptions & { stepMs?: number } = {}) {
  const teardown = new Teardown();
  return teardown.guard(() => build(opts, teardown));
}

async function build(opts: ExampleOptions & { stepMs?: number }, teardown: Teardown) {
  // Redis carries the hub's history, so a restarted hub still has what the page missed.
  const redis = teardown.add('redis-server', await startRedis({ port: opts.redisPort }), (r) => r.stop());
  const secret = randomBytes(32).toString('hex');
  const hubConfig = { jwtKey: secret, redis: redis.url, history: 500, port: opts.hubPort ?? 0 };
  let hub: ExampleHub | undefined;
  const services = createServices({
    // Services publish through whichever hub is running now (it may restart under them).
    publish: async (updates) => {
      if (!hub) throw new Error('hub is down');
      return publish(updates);
    },
    stepMs: opts.stepMs ?? 300,
  });

  const app = await listen(opts.port ?? 0, async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/') {
      if (!hub) throw new AppError(503, 'the hub is restarting, try again in a moment');
      const token = await hub.subscriberToken('ops', [scope]);
      const config = { hub: hub.hubUrl(req), topics: [statusTopic('{service}'), logTopic] };
      res.setHeader('Set-Cookie', hubCookie(token));
      return sendHtml(res, page.replace('__CONFIG__', JSON.stringify(config)));
    }
    const run = /^\/api\/services\/([^/]+)\/run$/.exec(url.pathname);
    if (run && req.method === 'POST') {
      const service = services[run[1] as keyof typeof services];
      if (!Object.hasOwn(services, run[1]!) || !service)
        throw new AppError(404, `no service named ${JSON.stringify(run[1]!.slice(0, 50))}`);
      void service.run('manual');
      return sendJson(res, 202, { started: run[1] });
    }
    throw new AppError(404, `no route for ${req.method} ${url.pathname}`);
  });
  teardown.add('app server', app.server, closeServer);

  hub = await startExampleHub(app.origin, hubConfig);
  teardown.add('hub', null, () => hub?.close());
  const hubPort = hub.herald.port;
  const token = await mintToken({ secret, subject: 'services', publish: [scope] });
  const publish = hubPublisher(`${hub.herald.url}${hub.herald.config.path}`, token);
  services['balance-sync'].every(30_000);
  services['account-discovery'].every(4_000);
  services['account-enrichment'].every(2_000);
  void services['balance-sync'].run('schedule');
  teardown.add('services', services, (all) => Promise.all(Object.values(all).map((s) => s.stop())));

  return {
    url: app.origin,
    endpoints: { hub: hub.herald.url + hub.herald.config.path, redis: redis.url },
    services,
    /** Stops the hub, as a deploy or a crash would; the page and the services carry on. */
    async stopHub() {
      const stopping = hub;
      hub = undefined;
      await stopping?.close();
    },
    /** Starts the hub again on the same port with the same key. */
    async startHub() {
      hub = await startExampleHub(app.origin, { ...hubConfig, port: hubPort });
    },
    close: () => teardown.run(),
  };
}
