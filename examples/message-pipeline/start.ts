// Message pipeline on Herald: POST /messages -> Redis list -> batch worker -> PostgreSQL, with
// the worker's numbers pushed to a live dashboard. Starts its own redis-server and PostgreSQL.
// Run it: npm run example -- message-pipeline
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { mintToken } from '../../src/auth/mint.ts';
import { AppError, closeServer, listen, readFields, sendHtml, sendJson } from '../shared/http.ts';
import { hubCookie, startExampleHub, type ExampleHub } from '../shared/herald.ts';
import type { ExampleOptions } from '../shared/options.ts';
import { startPostgres, startRedis } from '../shared/processes.ts';
import { Teardown } from '../shared/teardown.ts';
import { metricsTopic, PENDING, type QueuedMessage } from './queue.ts';

const page = readFileSync(new URL('page.html', import.meta.url), 'utf8');
const schema = readFileSync(new URL('schema.sql', import.meta.url), 'utf8');

/** Checks one message as the API receives it; the reason says what is wrong. */
export function parseMessage(fields: Record<string, string>): Omit<QueuedMessage, 'id' | 'created_at'> {
  const int = (name: string) => {
    const v = fields[name];
    if (v === undefined || !/^\d{1,9}$/.test(v))
      throw new AppError(400, `${name} must be a positive integer`);
    return Number(v);
  };
  const [user_id, channel_id] = [int('user_id'), int('channel_id')];
  const content = fields['content'] ?? '';
  if (content.trim() === '' || content.length > 2000)
    throw new AppError(400, 'content must be 1 to 2000 characters');
  return { user_id, channel_id, content };
}

export async function start(opts: ExampleOptions & { quiet?: boolean } = {}) {
  const teardown = new Teardown();
  return teardown.guard(async () => {
    const [redisServer, postgres] = await Promise.all([
      startRedis({ port: opts.redisPort }).then((s) => teardown.add('redis-server', s, (r) => r.stop())),
      startPostgres({ port: opts.postgresPort }).then((s) => teardown.add('PostgreSQL', s, (p) => p.stop())),
    ]);
    const db = new pg.Client(postgres.url);
    // A connection that breaks (the server went away) is reported, not thrown at the process.
    db.on('error', (e) => console.error(`database connection lost: ${e.message}`));
    await db.connect();
    teardown.add('database connection', db, (c) => c.end());
    await db.query(schema);
    const redis = teardown.add('Redis connection', new Redis(redisServer.url), (r) => r.quit());

    // The hub is started once the app's origin (for CORS) is known.
    const parts: { hub?: ExampleHub } = {};
    const enqueue = async (messages: Omit<QueuedMessage, 'id' | 'created_at'>[]) => {
      const queued = messages.map((m) => ({ id: randomUUID(), ...m, created_at: new Date().toISOString() }));
      const depth = await redis.lpush(PENDING, ...queued.map((m) => JSON.stringify(m)));
      // The queue grew: the gauge shows it now, not when the worker next reports (a fast worker
      // may have drained a burst by then). The worker's reports bring it back down.
      void parts.hub
        ?.commit([{ topics: [metricsTopic], patch: { queueDepth: depth } }], () => undefined)
        .catch((e: unknown) => console.error(`queue depth not published: ${(e as Error).message}`));
      return queued;
    };

    const secret = randomBytes(32).toString('hex');
    const app = await listen(opts.port ?? 0, async (req, res, url) => {
      const { hub } = parts;
      if (!hub) throw new AppError(503, 'starting');
      if (req.method === 'GET' && url.pathname === '/') {
        const token = await hub.subscriberToken('operator', [metricsTopic]);
        res.setHeader('Set-Cookie', hubCookie(token));
        return sendHtml(
          res,
          page.replace('__CONFIG__', JSON.stringify({ hub: hub.hubUrl(req), topic: metricsTopic })),
        );
      }
      if (req.method === 'POST' && url.pathname === '/messages') {
        const [message] = await enqueue([parseMessage(await readFields(req))]);
        return sendJson(res, 202, { id: message!.id });
      }
      if (req.method === 'POST' && url.pathname === '/api/load') {
        const count = Number((await readFields(req))['count']);
        if (!Number.isInteger(count) || count < 1 || count > 5000)
          throw new AppError(400, 'count must be a whole number from 1 to 5000');
        const burst = Array.from({ length: count }, (_, i) => ({
          user_id: 1 + (i % 50),
          channel_id: 1 + (i % 5),
          content: `load test message ${i + 1}`,
        }));
        await enqueue(burst);
        return sendJson(res, 202, { queued: count });
      }
      throw new AppError(404, `no route for ${req.method} ${url.pathname}`);
    });
    teardown.add('app server', app.server, closeServer);
    const hub = (parts.hub = teardown.add(
      'hub',
      await startExampleHub(app.origin, { jwtKey: secret, redis: redisServer.url, port: opts.hubPort ?? 0 }),
      (h) => h.close(),
    ));
    const workerToken = await mintToken({ secret, publish: [metricsTopic], subject: 'pipeline-worker' });

    let worker: ChildProcess | undefined;
    const workerLog = new EventEmitter<{ line: [string] }>();
    /** Starts the worker process; `env` adds settings (the tests use the slow-down knobs). */
    function startWorker(env: Record<string, string> = {}): ChildProcess {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('worker.ts', import.meta.url).pathname],
        {
          env: {
            ...process.env,
            REDIS_URL: redisServer.url,
            DATABASE_URL: postgres.url,
            HUB_URL: `${hub.herald.url}${hub.herald.config.path}`,
            HUB_TOKEN: workerToken,
            ...env,
          },
          stdio: ['pipe', 'pipe', 'inherit'],
          // Its own process group: Ctrl-C reaches the app, which stops the worker first.
          detached: true,
        },
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!opts.quiet) console.log(`[worker] ${line}`);
        workerLog.emit('line', line);
      });
      worker = child;
      return child;
    }
    startWorker();
    teardown.add('worker', null, async () => {
      const w = worker;
      if (!w || w.exitCode !== null || w.signalCode !== null) return;
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.kill('SIGTERM');
      await exited;
    });

    return {
      url: app.origin,
      endpoints: {
        hub: hub.herald.url + hub.herald.config.path,
        redis: redisServer.url,
        postgres: postgres.url,
      },
      db,
      redis,
      get worker() {
        return worker;
      },
      startWorker,
      /** Emits each line the worker prints ("inserting batch of 50", "committed batch of 50 ..."). */
      workerLog,
      close: () => teardown.run(),
    };
  });
}
