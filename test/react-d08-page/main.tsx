// Test page: `useTopic` under a draft-08 provider (exact matcher, WebSocket) and the SDK's
// SSE subscriber with a URL pattern, both with a draft-08 access token from the query string.
import { createRoot } from 'react-dom/client';
import { subscribe } from 'herald/client';
import { HeraldProvider, useTopic } from 'herald/react';

const params = new URLSearchParams(location.search);
const hub = params.get('hub')!;
const token = params.get('token')!;

function Book() {
  const { data, status } = useTopic<string[]>(params.get('topic')!, {
    initial: [],
    reduce: (titles, value) => [...titles, (value as { title: string }).title],
  });
  return (
    <p id="book" data-status={status}>
      {data.join(',')}
    </p>
  );
}

createRoot(document.getElementById('root')!).render(
  <HeraldProvider url={hub} token={token} dialect="draft-08">
    <Book />
  </HeraldProvider>,
);

const seen: string[] = [];
const sdk = subscribe({
  url: hub,
  token,
  dialect: 'draft-08',
  topics: [],
  patterns: [params.get('pattern')!],
  transport: 'sse',
  onUpdate: (u) => seen.push(u.data),
});
Object.assign(window, { seen, sdk });
