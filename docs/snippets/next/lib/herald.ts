// Next.js: lib/herald.ts, one hub for the whole app (route handlers, server actions).
import { createHub } from 'herald';

export const hub = await createHub({
  path: '/api/mercure', // the public path of app/api/mercure/route.ts
  jwtKey: process.env['HERALD_JWT_KEY'],
  redis: process.env['HERALD_REDIS_URL'], // several instances: share one Redis
});
