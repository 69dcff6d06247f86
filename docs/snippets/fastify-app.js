// Fastify: Herald under /hub beside the app's own routes, WebSocket included.
import Fastify from 'fastify';
import { createHub } from 'herald';

export async function startFeed(port, jwtKey) {
  // Endpoint: /hub/.well-known/mercure (+ /ws), health: /hub/healthz, metrics: /hub/metrics
  const hub = await createHub({ jwtKey, basePath: '/hub' });

  const app = Fastify();
  app.register(async (scope) => {
    // Herald reads its own request bodies: leave them unread in this scope.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.all('/hub/*', (request, reply) => {
      reply.hijack(); // Herald answers on the raw response
      hub.handle(request.raw, reply.raw);
    });
  });
  app.post('/posts', async (request) => {
    const post = { id: String(request.body.id), text: String(request.body.text) };
    // Trusted server-side publish: no token, same validation as an HTTP publish.
    const update = await hub.publish({ topic: `https://feed.example/posts/${post.id}`, data: post });
    return { post, updateId: update.id };
  });

  hub.attach(app.server); // WebSocket upgrades on /hub/.well-known/mercure/ws
  await app.listen({ port, host: '127.0.0.1' });
  return {
    server: app.server,
    hub,
    async close() {
      await hub.close(); // tells SSE and WebSocket clients to come back
      await app.close();
    },
  };
}
