// React: job progress and an activity feed; every component shares one connection.
import { ConnectionStatus, HeraldProvider, useTopic } from 'herald/react';

interface Progress {
  done: number;
  total: number;
}

export function JobProgress({ jobId }: { jobId: string }) {
  const { data, status } = useTopic<Progress>(`https://example.com/jobs/${jobId}`, {
    initial: { done: 0, total: 0 },
    reduce: (state, value) => ({ ...state, ...(value as Partial<Progress>) }),
  });
  return (
    <p className="job" data-status={status}>
      job {jobId}: {data.done}/{data.total}
    </p>
  );
}

export function ActivityFeed() {
  const { data } = useTopic<string[]>('https://example.com/feed/{user}', {
    initial: [],
    reduce: (items, value) => [...items, (value as { text: string }).text].slice(-20),
  });
  return (
    <ul className="feed">
      {data.map((text, i) => (
        <li key={i}>{text}</li>
      ))}
    </ul>
  );
}

export function App({ hubUrl, token }: { hubUrl: string; token: string }) {
  return (
    <HeraldProvider url={hubUrl} token={token}>
      <header>
        <ConnectionStatus />
      </header>
      <JobProgress jobId="42" />
      <JobProgress jobId="42" />
      <ActivityFeed />
    </HeraldProvider>
  );
}
