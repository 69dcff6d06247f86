// How a worker publishes: one POST of a JSON batch to the hub with its own publisher token. In
// production the worker gets the two values as HERALD_URL and HERALD_TOKEN.
import type { Publication } from './herald.ts';

export type Publish = (updates: Publication[]) => Promise<string[]>;

export function hubPublisher(hubUrl: string, token: string): Publish {
  return async (updates) => {
    const res = await fetch(hubUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(updates),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`hub refused the update (${res.status}): ${body}`);
    return body.split('\n');
  };
}
