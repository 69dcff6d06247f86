// Express: Herald under /hub beside the app's own routes, WebSocket included.
import express from 'express';
import { createServer } from 'node:http';
import { createHub } from 'herald';

export async function startShop(port: number, jwtKey: string) {
  // Endpoint: /hub/.well-known/mercure (+ /ws), health: /hub/healthz, metrics: /hub/metrics
  const hub = await createHub({ jwtKey, basePath: '/hub' });

  const app = express();
  app.use('/hub', hub.handle); // before body parsers: the hub reads its own request bodies
  app.use(express.json());
  app.post('/orders', async (req, res) => {
    const order = { id: String(req.body.id), status: 'paid' };
    // Trusted server-side publish: no token, same validation as an HTTP publish.
    const update = await hub.publish({ topic: `https://shop.example/orders/${order.id}`, data: order });
    res.json({ order, updateId: update.id });
  });

  const server = createServer(app);
  hub.attach(server); // WebSocket upgrades on /hub/.well-known/mercure/ws
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    hub,
    async close() {
      await hub.close(); // tells SSE and WebSocket clients to come back
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
