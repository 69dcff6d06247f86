// Next.js: app/actions.ts, a server action that publishes (no token: the app is trusted).
'use server';
import { hub } from '../lib/herald.ts';

export async function markDone(jobId: string) {
  const update = await hub.publish({ topic: `https://app.example/jobs/${jobId}`, data: { status: 'done' } });
  return update.id;
}
