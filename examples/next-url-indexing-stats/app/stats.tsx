'use client';
// The four numbers, live: useTopic in state mode gets the topic's current state first (on
// every reconnect too), then each change the worker's increments make.
import { ConnectionStatus, HeraldProvider, useTopic } from 'herald/react';

interface UrlStats {
  totalProcessed?: number;
  indexed?: number;
  notIndexed?: number;
  errors?: number;
}

const CARDS: [keyof UrlStats, string][] = [
  ['totalProcessed', 'Processed'],
  ['indexed', 'Indexed'],
  ['notIndexed', 'Not indexed'],
  ['errors', 'Errors'],
];

function Cards({ topic }: { topic: string }) {
  const { data } = useTopic<UrlStats>(topic, { state: true, initial: {} });
  return (
    <div
      style={{ display: 'grid', gridTemplateColumns: 'repeat(4, 11rem)', gap: '1rem', margin: '1.5rem 0' }}
    >
      {CARDS.map(([key, label]) => (
        <div
          key={key}
          style={{ background: 'white', borderRadius: 8, padding: '1rem', boxShadow: '0 1px 3px #0002' }}
        >
          {label}
          <b id={key} style={{ display: 'block', fontSize: '2.2rem' }}>
            {data[key] ?? 0}
          </b>
        </div>
      ))}
    </div>
  );
}

export function Stats({ hubUrl, token, topic }: { hubUrl: string; token: string; topic: string }) {
  return (
    <HeraldProvider url={hubUrl} token={token} transport="sse">
      <Cards topic={topic} />
      <ConnectionStatus labels={{ connected: 'live', reconnecting: 'reconnecting…' }} />
    </HeraldProvider>
  );
}
