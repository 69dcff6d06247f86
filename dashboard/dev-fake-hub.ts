/**
 * A stand-in hub for working on the dashboard without the real one: it serves the built app
 * at /dashboard/, `config.json`, an SSE endpoint with the `herald.stats` topic, and publish.
 * Only exact topics, `*` and simple `{var}` templates are matched; nothing here is meant to be
 * fast or complete. The browser test runs against the real hub, not this.
 *
 *   node --import tsx dashboard/dev-fake-hub.ts [--port 22001] [--dev] [--no-demo]
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { STATS_TOPIC, type HubStatsSnapshot } from '../src/protocol/stats.ts';

const HUB_PATH = '/.well-known/mercure';
const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
/**
 * What the dashboard needs and nothing more: no inline script or style, no third-party
 * origin, no framing. The real hub should send the same header on /dashboard/.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface FakeHubOptions {
  port?: number;
  host?: string;
  /** Dev mode: the dashboard needs no token. */
  dev?: boolean;
  secret?: string;
  /** Publish a few updates a second and invent some subscribers, so the charts move. */
  demo?: boolean;
}

export interface FakeHub {
  url: string;
  /** An HS256 admin token the hub accepts. */
  adminToken: string;
  /** Publishes as a backend would (no auth check); resolves to the id. */
  publish(topic: string, data: string, type?: string): string;
  close(): Promise<void>;
}

interface Client {
  /** Writes one update (SSE frame or WebSocket message). */
  send(topics: string[], id: string, type: string | undefined, data: string): void;
  heartbeat(): void;
  end(): void;
  selectors: RegExp[];
  subject: string;
}

function selectorPattern(selector: string): RegExp {
  if (selector === '*') return /^/;
  const escaped = selector.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]*\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

function frame(id: string, type: string | undefined, data: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `id: ${id}\n${type ? `event: ${type}\n` : ''}${lines.join('')}\n`;
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeHub(options: FakeHubOptions = {}): Promise<FakeHub> {
  const dev = options.dev ?? false;
  const key = new TextEncoder().encode(options.secret ?? 'fake-hub-secret-please-change-0123456789');
  const adminToken = await new SignJWT({
    mercure: { publish: ['*'], subscribe: ['*'] },
    herald: { admin: true },
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('admin')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(key);

  const clients = new Set<Client>();
  const retained = new Map<string, unknown>();
  /** Updates per topic: [total, total at the last stats tick]. */
  const topicsSeen = new Map<string, [number, number]>();
  const refusals: Record<string, number> = {};
  let published = 0;
  let delivered = 0;
  let lastPublished = 0;
  let lastDelivered = 0;
  let lastTick = Date.now();
  let statsSeq = 0;

  const refuse = (res: ServerResponse, status: number, reason: string, kind: string) => {
    refusals[kind] = (refusals[kind] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
  };

  /** The token's subject, or why it is refused. */
  const check = async (
    token: string | undefined,
  ): Promise<{ subject: string } | { status: number; reason: string; kind: string }> => {
    if (dev) return { subject: 'dev' };
    if (!token) return { status: 401, reason: 'missing bearer token', kind: 'unauthorized' };
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256', 'HS384', 'HS512'] });
      const herald = payload.herald as { admin?: unknown } | undefined;
      if (herald?.admin !== true)
        return { status: 403, reason: 'token is not an admin token', kind: 'forbidden' };
      return { subject: typeof payload.sub === 'string' ? payload.sub : '(anonymous)' };
    } catch (err) {
      const reason = `invalid token: ${err instanceof Error ? err.message : 'rejected'}`;
      return { status: 401, reason, kind: 'unauthorized' };
    }
  };

  /** `null` when refused (and answered). */
  const authorize = async (req: IncomingMessage, res: ServerResponse): Promise<string | null> => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const verdict = await check(token);
    if ('subject' in verdict) return verdict.subject;
    refuse(res, verdict.status, verdict.reason, verdict.kind);
    return null;
  };

  const deliver = (topics: string[], id: string, type: string | undefined, data: string) => {
    for (const client of clients) {
      if (topics.some((topic) => client.selectors.some((re) => re.test(topic)))) {
        client.send(topics, id, type, data);
        delivered += 1;
      }
    }
  };

  /** The WebSocket endpoint, as the client SDK speaks it: `auth`, then `subscribe`. */
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  wss.on('connection', (ws: WebSocket) => {
    let subject: string | undefined = dev ? 'dev' : undefined;
    let client: Client | undefined;
    // One message at a time: `subscribe` must wait for the `auth` before it to be verified.
    let queue = Promise.resolve();
    ws.on('message', (raw) => {
      queue = queue.then(async () => {
        let msg: { op?: unknown; token?: unknown; topics?: unknown; match?: unknown; ref?: unknown };
        try {
          msg = JSON.parse(String(raw)) as typeof msg;
        } catch {
          ws.close(1003, 'not JSON');
          return;
        }
        if (msg.op === 'auth') {
          const verdict = await check(typeof msg.token === 'string' ? msg.token : undefined);
          if ('subject' in verdict) subject = verdict.subject;
          else {
            refusals[verdict.kind] = (refusals[verdict.kind] ?? 0) + 1;
            ws.close(verdict.status === 403 ? 4403 : 4401, verdict.reason.slice(0, 120));
          }
          return;
        }
        if (msg.op !== 'subscribe') return;
        if (subject === undefined) {
          refusals['unauthorized'] = (refusals['unauthorized'] ?? 0) + 1;
          ws.close(4401, 'missing token');
          return;
        }
        const list = (v: unknown) =>
          Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
        const topics = [...list(msg.topics), ...list(msg.match)];
        if (
          topics.length === 0 ||
          topics.some((t) => t.trim() === '' || /[{}]/.test(t.replace(/\{[^{}]*\}/g, '')))
        ) {
          refusals['bad_request'] = (refusals['bad_request'] ?? 0) + 1;
          ws.send(
            JSON.stringify({
              op: 'error',
              code: 'HERALD_ERR_BAD_REQUEST',
              message: 'malformed topic selector',
              ref: msg.ref,
            }),
          );
          return;
        }
        if (client) clients.delete(client);
        const next: Client = {
          send: (updateTopics, id, type, data) =>
            ws.send(
              JSON.stringify(
                type === 'herald.stats'
                  ? { op: 'event', type, data: JSON.parse(data) as unknown }
                  : { id, type, data, topics: updateTopics },
              ),
            ),
          heartbeat: () => ws.ping(),
          end: () => ws.close(1001, 'hub is restarting; reconnect'),
          selectors: topics.map(selectorPattern),
          subject,
        };
        client = next;
        clients.add(next);
        ws.send(JSON.stringify({ op: 'subscribed', topics, ref: msg.ref }));
      });
    });
    ws.on('close', () => {
      if (client) clients.delete(client);
    });
  });

  const publishUpdate = (topics: string[], data: string, type?: string, id?: string): string => {
    const updateId = id || `urn:uuid:${randomUUID()}`;
    published += 1;
    const counts = topicsSeen.get(topics[0]!) ?? [0, 0];
    counts[0] += 1;
    topicsSeen.set(topics[0]!, counts);
    for (const topic of topics) {
      try {
        retained.set(topic, JSON.parse(data));
      } catch {
        retained.set(topic, data);
      }
    }
    deliver(topics, updateId, type, data);
    return updateId;
  };

  const demoSubjects: Record<string, number> = options.demo
    ? { 'svc-indexer': 3, 'svc-billing': 1, alice: 2, '(anonymous)': 5 }
    : {};

  const stats = (): HubStatsSnapshot => {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - lastTick) / 1000);
    const rates = {
      publishedPerSec: Math.round(((published - lastPublished) / seconds) * 10) / 10,
      deliveredPerSec: Math.round(((delivered - lastDelivered) / seconds) * 10) / 10,
      // Unlike the real hub, the fake one measures each tick on its own, and says so.
      windowSeconds: Math.round(seconds),
    };
    lastPublished = published;
    lastDelivered = delivered;
    lastTick = now;
    const bySubject: Record<string, number> = { ...demoSubjects };
    for (const client of clients) bySubject[client.subject] = (bySubject[client.subject] ?? 0) + 1;
    const demoCount = Object.values(demoSubjects).reduce((a, b) => a + b, 0);
    const subscribers = (topic: string) =>
      [...clients].filter((c) => c.selectors.some((re) => re.test(topic))).length;
    return {
      time: now,
      broker: { kind: 'memory', ready: true },
      connections: {
        total: clients.size + demoCount,
        byTransport: {
          sse: clients.size + demoCount - 2 * Math.min(1, demoCount),
          ws: 2 * Math.min(1, demoCount),
        },
        bySubject,
        // Unlike the real hub, the fake one counts dashboards as connections like any other.
        monitors: 0,
      },
      totals: { published, delivered },
      rates,
      topics: [...topicsSeen].map(([topic, counts]) => {
        const row = {
          topic,
          pattern: false,
          subscribers: subscribers(topic),
          updates: counts[0],
          updatesPerSec: (counts[0] - counts[1]) / seconds,
          retained: retained.get(topic) ?? null,
        };
        counts[1] = counts[0];
        return row;
      }),
      refusals: { ...refusals },
    };
  };

  const statsTimer = setInterval(() => {
    statsSeq += 1;
    deliver([STATS_TOPIC], `stats-${statsSeq}`, 'herald.stats', JSON.stringify(stats()));
  }, 1000);
  const heartbeat = setInterval(() => {
    for (const client of clients) client.heartbeat();
  }, 15_000);
  let demoCounter = 0;
  const demoTimer = options.demo
    ? setInterval(() => {
        demoCounter += 1;
        publishUpdate(
          ['/demo/ticks'],
          JSON.stringify({ n: demoCounter, at: new Date().toISOString() }),
          'tick',
        );
        if (demoCounter % 5 === 0)
          publishUpdate(
            [`/jobs/${(demoCounter / 5) % 3}`],
            JSON.stringify({ done: demoCounter, total: 1000 }),
            'progress',
          );
      }, 250)
    : null;

  const serveStatic = async (pathname: string, res: ServerResponse) => {
    const relative = normalize(decodeURIComponent(pathname.slice('/dashboard/'.length)) || 'index.html');
    const file = join(DIST, relative);
    if (!file.startsWith(DIST) || relative.split(sep).includes('..')) {
      res.writeHead(404).end();
      return;
    }
    const send = (body: Buffer, path: string) =>
      res
        .writeHead(200, {
          'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
          'Cache-Control': 'no-cache',
          'Content-Security-Policy': DASHBOARD_CSP,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
        })
        .end(body);
    try {
      send(await readFile(file), file);
    } catch {
      try {
        send(await readFile(join(DIST, 'index.html')), 'index.html');
      } catch {
        res
          .writeHead(503, { 'Content-Type': 'text/plain' })
          .end('dashboard not built: npx vite build --config dashboard/vite.config.ts\n');
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/dashboard') {
      res.writeHead(301, { Location: '/dashboard/' }).end();
      return;
    }
    if (url.pathname === '/dashboard/config.json') {
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify({ dev, hubUrl: HUB_PATH, ...(dev ? { token: adminToken } : {}) }));
      return;
    }
    if (url.pathname.startsWith('/dashboard/')) {
      await serveStatic(url.pathname, res);
      return;
    }
    if (url.pathname !== HUB_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const subject = await authorize(req, res);
    if (subject === null) return;
    if (req.method === 'GET') {
      const topics = url.searchParams.getAll('topic');
      if (topics.length === 0) {
        refuse(res, 400, 'missing topic parameter', 'bad_request');
        return;
      }
      if (topics.some((t) => t.trim() === '' || /[{}]/.test(t.replace(/\{[^{}]*\}/g, '')))) {
        refuse(res, 400, 'malformed topic selector', 'bad_request');
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      const client: Client = {
        send: (_topics, id, type, data) => res.write(frame(id, type, data)),
        heartbeat: () => res.write(':\n\n'),
        end: () => res.end(),
        selectors: topics.map(selectorPattern),
        subject,
      };
      clients.add(client);
      req.on('close', () => clients.delete(client));
      return;
    }
    if (req.method === 'POST' && /^application\/json/i.test(req.headers['content-type'] ?? '')) {
      // The client SDK's publisher sends JSON: one update or an array of them.
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readBody(req));
      } catch {
        refuse(res, 400, 'body is not JSON', 'bad_request');
        return;
      }
      const inputs = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
      const valid = inputs.every(
        (u) =>
          typeof u === 'object' &&
          u !== null &&
          Array.isArray(u.topics) &&
          u.topics.length > 0 &&
          u.topics.every((t) => typeof t === 'string' && t !== ''),
      );
      if (!valid) {
        refuse(res, 400, 'every update needs topics', 'bad_request');
        return;
      }
      const ids = inputs.map((u) =>
        publishUpdate(
          u.topics as string[],
          typeof u.data === 'string' ? u.data : '',
          typeof u.type === 'string' && u.type !== '' ? u.type : undefined,
          typeof u.id === 'string' ? u.id : undefined,
        ),
      );
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(ids.join('\n'));
      return;
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const topics = form.getAll('topic').filter((t) => t !== '');
      if (topics.length === 0) {
        refuse(res, 400, 'missing topic', 'bad_request');
        return;
      }
      const id = publishUpdate(
        topics,
        form.get('data') ?? '',
        form.get('type') || undefined,
        form.get('id') || undefined,
      );
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(id);
      return;
    }
    res.writeHead(405, { Allow: 'GET, POST' }).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        res
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`${err instanceof Error ? err.message : 'error'}\n`);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://fake').pathname !== `${HUB_PATH}/ws`) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    adminToken,
    publish: (topic, data, type) => publishUpdate([topic], data, type),
    close: async () => {
      clearInterval(statsTimer);
      clearInterval(heartbeat);
      if (demoTimer) clearInterval(demoTimer);
      for (const client of clients) client.end();
      clients.clear();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const portIndex = args.indexOf('--port');
  const hub = await startFakeHub({
    port: portIndex >= 0 ? Number(args[portIndex + 1]) : 22001,
    dev: args.includes('--dev'),
    demo: !args.includes('--no-demo'),
  });
  console.log(`fake hub on ${hub.url}/dashboard/`);
  console.log(`admin token: ${hub.adminToken}`);
  process.on('SIGINT', () => void hub.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
}
