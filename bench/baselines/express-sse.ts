/**
 * Baseline: Express + SSE built the way the seed projects build it (seeds 1 and 4): one Set of
 * open responses, a per-connection heartbeat timer, and per publish a loop that checks each
 * client's topic, JSON.stringify-s the event for that client and calls res.write.
 * Speaks the bench's minimal Mercure subset: GET /.well-known/mercure?topic=T (SSE) and
 * POST /.well-known/mercure (form `topic`+`data`, or a JSON array of {topics, data}).
 * Usage: node --import tsx bench/baselines/express-sse.ts PORT
 */
import express, { type Response } from 'express';

interface Client {
  res: Response;
  topics: Set<string>;
  heartbeat: NodeJS.Timeout;
}

interface BenchEvent {
  id: string;
  topic: string;
  data: string;
  timestamp: number;
}

const clients = new Set<Client>();
let nextId = 0;

const app = express();
app.use(express.urlencoded({ extended: false, limit: '10mb' }));
app.use(express.json({ limit: '10mb' }));

app.get('/.well-known/mercure', (req, res) => {
  const raw = req.query.topic;
  const topics = new Set((Array.isArray(raw) ? raw : [raw]).filter((t): t is string => typeof t === 'string'));
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.write(':connected\n\n');
  const client: Client = {
    res,
    topics,
    heartbeat: setInterval(() => res.write(':heartbeat\n\n'), 30_000),
  };
  clients.add(client);
  req.on('close', () => {
    clearInterval(client.heartbeat);
    clients.delete(client);
  });
});

function broadcast(topic: string, data: string): string {
  const event: BenchEvent = { id: String(++nextId), topic, data, timestamp: Date.now() };
  for (const client of clients) {
    if (!client.topics.has(topic)) continue;
    try {
      client.res.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    } catch {
      clients.delete(client);
    }
  }
  return event.id;
}

app.post('/.well-known/mercure', (req, res) => {
  const body: unknown = req.body;
  if (Array.isArray(body)) {
    let id = '';
    for (const item of body as Array<{ topics?: string[]; data?: string }>) {
      const topic = item.topics?.[0];
      if (typeof topic === 'string') id = broadcast(topic, String(item.data ?? ''));
    }
    res.type('text/plain').send(id);
    return;
  }
  const { topic, data } = (body ?? {}) as { topic?: unknown; data?: unknown };
  if (typeof topic !== 'string') {
    res.status(400).send('missing topic');
    return;
  }
  res.type('text/plain').send(broadcast(topic, typeof data === 'string' ? data : ''));
});

const port = Number(process.argv[2] ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
