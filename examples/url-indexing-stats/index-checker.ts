// A stand-in for the search engine's URL-inspection API, so the example runs offline.
// `GET /check?url=...` answers `{ "indexed": true|false }`, or 503 for some URLs, always the
// same answer for the same URL: page numbers divisible by 10 fail, by 3 are not indexed.
import { listen, sendJson } from '../shared/http.ts';

export type Verdict = 'indexed' | 'notIndexed' | 'error';

export function expectedVerdict(url: string): Verdict {
  const n = Number(/(\d+)$/.exec(url)?.[1] ?? 1);
  if (n % 10 === 0) return 'error';
  return n % 3 === 0 ? 'notIndexed' : 'indexed';
}

export async function startIndexChecker() {
  return listen(0, async (_req, res, url) => {
    const target = url.searchParams.get('url');
    if (url.pathname !== '/check' || !target) return sendJson(res, 400, { error: 'use GET /check?url=...' });
    const verdict = expectedVerdict(target);
    if (verdict === 'error') return sendJson(res, 503, { error: 'inspection quota exceeded' });
    sendJson(res, 200, { url: target, indexed: verdict === 'indexed' });
  });
}
