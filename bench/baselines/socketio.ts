/**
 * Baseline: Socket.IO 4 with @socket.io/redis-adapter, the usual way to fan out over rooms
 * across nodes. Clients emit `subscribe(topic, ack)` and get `m(id, data)` per update.
 * Publish: POST /.well-known/mercure (form `topic`+`data`, or a JSON array of {topics, data}).
 * Usage: node --import tsx bench/baselines/socketio.ts PORT REDIS_URL
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 0);
const redisUrl = process.argv[3] ?? 'redis://127.0.0.1:6379';

const pubClient = new Redis(redisUrl);
const subClient = pubClient.duplicate();
let nextId = 0;

const http = createServer(handle);
const io = new Server(http, { transports: ['websocket'], adapter: createAdapter(pubClient, subClient) });

io.on('connection', (socket) => {
  socket.on('subscribe', (topic: unknown, ack?: () => void) => {
    if (typeof topic === 'string') void socket.join(topic);
    if (typeof ack === 'function') ack();
  });
});

function publish(topic: string, data: string): string {
  const id = String(++nextId);
  io.to(topic).emit('m', id, data);
  return id;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST' || !req.url?.startsWith('/.well-known/mercure')) {
    res.writeHead(req.method === 'HEAD' || req.method === 'GET' ? 200 : 404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let id = '';
    if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
      for (const item of JSON.parse(body) as Array<{ topics: string[]; data: string }>) {
        const topic = item.topics[0];
        if (topic) id = publish(topic, item.data);
      }
    } else {
      const form = new URLSearchParams(body);
      const topic = form.get('topic');
      if (!topic) {
        res.writeHead(400).end('missing topic');
        return;
      }
      id = publish(topic, form.get('data') ?? '');
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(id);
  });
}

http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
