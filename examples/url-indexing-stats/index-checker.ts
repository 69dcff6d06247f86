// A stand-in for the search engine's URL-inspection API, so the example runs offline.
// `GET /check?url=...` answers `{ "indexed": true|false }`, or 503 when the (pretend) quota is
// exceeded, always the same way for the same URL and attempt, so the test knows the numbers:
// on a URL's first check, pages whose number divides by 10 get a 503 and pages dividing by 3
// are not indexed yet; from the second check on there is no 503, and pages dividing by 6 have
// been indexed meanwhile.
import { listen, sendJson } from '../shared/http.ts';

export type Verdict = 'indexed' | 'notIndexed' | 'error';

/** What the checker answers for `url` on its `attempt`-th check (1 = first). */
export function expectedVerdict(url: string, attempt = 1): Verdict {
  const n = Number(/(\d+)$/.exec(url)?.[1] ?? 1);
  if (attempt === 1 && n % 10 === 0) return 'error';
  if (n % 3 !== 0) return 'indexed';
  return attempt > 1 && n % 6 === 0 ? 'indexed' : 'notIndexed';
}

/** How many URLs the stand-in remembers attempts for; beyond that every check is a first one. */
const REMEMBERED = 10_000;

export async function startIndexChecker() {
  const attempts = new Map<string, number>();
  return listen(0, async (_req, res, url) => {
    const target = url.searchParams.get('url');
    if (url.pathname !== '/check' || !target) return sendJson(res, 400, { error: 'use GET /check?url=...' });
    const attempt = (attempts.get(target) ?? 0) + 1;
    if (attempts.has(target) || attempts.size < REMEMBERED) attempts.set(target, attempt);
    const verdict = expectedVerdict(target, attempt);
    if (verdict === 'error') return sendJson(res, 503, { error: 'inspection quota exceeded' });
    sendJson(res, 200, { url: target, indexed: verdict === 'indexed' });
  });
}
