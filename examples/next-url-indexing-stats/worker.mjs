// The indexing worker, outside the Next.js app: checks a project's URLs and publishes what it
// found as counter increments. It keeps no counters: the hub adds them up in Redis, whatever
// the number of workers. Usage: HERALD_JWT_KEY=... node worker.mjs APP_URL PROJECT COUNT
import { mintToken } from 'herald';

const [appUrl = 'http://localhost:3000', projectId = 'shop', count = '20'] = process.argv.slice(2);
const topic = (p) => `https://herald.example/url-stats/${p ? `projects/${p}` : 'all'}`;
// This worker's token may publish the stats and nothing else.
const token = await mintToken({
  secret: process.env.HERALD_JWT_KEY,
  subject: 'indexing-worker',
  publish: ['https://herald.example/url-stats/{+scope}'],
  ttl: '10m',
});

/** Stand-in for the indexing API: the same URL always gets the same verdict. */
function check(url) {
  const n = [...url].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 10;
  return n < 6 ? 'indexed' : n < 9 ? 'notIndexed' : 'errors';
}

const totals = { totalProcessed: 0, indexed: 0, notIndexed: 0, errors: 0 };
for (let i = 1; i <= Number(count); i++) {
  const verdict = check(`https://${projectId}.example/page/${i}`);
  const counts = { totalProcessed: 1, [verdict]: 1 };
  // One request, two counters: the project's and the overall one.
  const res = await fetch(`${appUrl}/api/mercure`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(
      [projectId, undefined].map((p) => ({ topics: [topic(p)], patch: { $inc: counts } })),
    ),
  });
  if (!res.ok) throw new Error(`hub answered ${res.status}: ${await res.text()}`);
  totals.totalProcessed++;
  totals[verdict]++;
}
console.log(JSON.stringify(totals));
