// One "tab" of an app: a subscription whose state the test reads from the DOM and `window`.
import { subscribe, type HeraldSubscription } from 'herald/client';

const params = new URLSearchParams(location.search);
const got: { id: string; data: string }[] = [];
const sub: HeraldSubscription = subscribe({
  url: params.get('hub')!,
  topics: [params.get('topic')!],
  token: params.get('token')!,
  transport: 'sse',
  shared: params.get('shared') === '1',
  onUpdate: (u) => {
    got.push({ id: u.id, data: u.data });
    document.body.dataset['count'] = String(got.length);
  },
  onStatus: (status, error) => {
    document.body.dataset['status'] = status;
    if (error?.code) document.body.dataset['error'] = error.code;
  },
});
Object.assign(window, { got, sub });
