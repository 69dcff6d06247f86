// Hono (also Bun and Deno): Herald's fetch handler on a sub-path.
import { Hono } from 'hono';
import { createHub } from 'herald';

export async function createFeedApp(jwtKey: string) {
  const hub = await createHub({ jwtKey, basePath: '/realtime' });
  const app = new Hono();
  app.all('/realtime/*', (c) => hub.fetch(c.req.raw));
  app.post('/posts', async (c) => {
    const post = await c.req.json<{ author: string; text: string }>();
    await hub.publish({ topic: `https://feed.example/users/${post.author}`, type: 'post', data: post });
    return c.json({ ok: true }, 201);
  });
  return { app, hub };
}
