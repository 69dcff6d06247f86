// Next.js App Router: app/api/mercure/route.ts. Subscribe with
// new EventSource('/api/mercure?topic=...'), publish with POST /api/mercure.
import { createHub } from 'herald';

export const runtime = 'nodejs'; // SSE needs a long-lived streaming response
export const dynamic = 'force-dynamic';

const hub = await createHub({
  path: '/api/mercure', // the route's public path
  jwtKey: process.env['HERALD_JWT_KEY'],
  redis: process.env['HERALD_REDIS_URL'], // several instances: share one Redis
});

export const GET = hub.fetch;
export const POST = hub.fetch;
export const OPTIONS = hub.fetch;
export { hub }; // server actions and route handlers can call hub.publish(...)
