// Next.js App Router: app/api/mercure/route.ts. Subscribe with
// new EventSource('/api/mercure?topic=...'), publish with POST /api/mercure.
import { hub } from '../../../lib/herald.ts';

export const runtime = 'nodejs'; // a long-lived streaming response, and node:fs for the hub
export const dynamic = 'force-dynamic';

export const GET = hub.fetch;
export const POST = hub.fetch;
export const OPTIONS = hub.fetch;
