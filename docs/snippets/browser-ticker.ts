// Browser: a live list of ticker updates, with the connection state on the list element.
import { subscribe } from 'herald/client';

export function showTicker(hubUrl: string, token: string, list: HTMLElement): () => void {
  const feed = subscribe({
    url: hubUrl, // e.g. https://hub.example.com/.well-known/mercure
    topics: ['https://example.com/ticker'],
    token, // sent as Authorization (SSE) or in the first frame (WebSocket)
    onUpdate(update) {
      const item = document.createElement('li');
      item.textContent = update.data;
      list.append(item);
    },
    onStatus(status, error) {
      list.dataset['status'] = status; // connecting | open | reconnecting | closed
      if (error && status === 'closed') list.dataset['error'] = error.message;
    },
    onGap() {
      // The hub no longer had our last id: reload the full list from your API here.
      list.dataset['gap'] = 'yes';
    },
  });
  return () => feed.close();
}
