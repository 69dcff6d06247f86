// app/api/mercure/route.ts: the Mercure endpoint. Subscribe with GET /api/mercure?topic=...
// (SSE), publish with POST /api/mercure and a publisher token.
import { getHub } from '../../../lib/herald';

export const runtime = 'nodejs'; // a long-lived streaming response, and Node APIs for the hub
export const dynamic = 'force-dynamic';

async function handle(request: Request): Promise<Response> {
  const hub = await getHub();
  return hub.fetch(request);
}

export { handle as GET, handle as POST, handle as OPTIONS };
