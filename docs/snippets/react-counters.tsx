// React: live counters kept by the hub (state topics, docs/state.md). Workers send `$inc`
// patches; every component shows the merged totals, right from mount and after reconnects.
import { ConnectionStatus, HeraldProvider, useTopic } from 'herald/react';

interface Crawl {
  indexed?: number;
  errors?: number;
}

export function CrawlCounter({ name }: { name: string }) {
  // One exact topic: `data` is its state (`initial` until it has one).
  const { data } = useTopic<Crawl>(`https://example.com/stats/${name}`, { state: true, initial: {} });
  return (
    <p className="counter" data-name={name}>
      {name}: {data.indexed ?? 0} indexed, {data.errors ?? 0} errors
    </p>
  );
}

export function AllCrawls() {
  // A template: `data` is a record topic -> state; at most 4 changes a second per topic.
  const { data } = useTopic<Record<string, Crawl>>('https://example.com/stats/{name}', {
    state: true,
    throttle: 250,
  });
  return (
    <ul className="all-crawls">
      {Object.keys(data)
        .sort()
        .map((topic) => (
          <li key={topic}>
            {topic.split('/').pop()}: {data[topic]!.indexed ?? 0}
          </li>
        ))}
    </ul>
  );
}

export function StatsApp({ hubUrl, token }: { hubUrl: string; token: string }) {
  return (
    <HeraldProvider url={hubUrl} token={token}>
      <ConnectionStatus />
      <CrawlCounter name="crawl-a" />
      <CrawlCounter name="crawl-b" />
      <AllCrawls />
    </HeraldProvider>
  );
}
