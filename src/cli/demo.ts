import type { Principal } from '../auth/principal.ts';
import type { Hub } from '../hub/hub.ts';
import { SelectorSet } from '../protocol/matchers.ts';

/** Topics the demo publisher uses; `curl -N '.../.well-known/mercure?topic=*'` shows them. */
export const DEMO_TOPICS = {
  metrics: 'https://herald.dev/demo/metrics',
  activity: 'https://herald.dev/demo/activity',
};

const DEMO_PRINCIPAL: Principal = {
  subject: 'demo-publisher',
  anonymous: false,
  publish: new SelectorSet(['https://herald.dev/demo/{+rest}']),
  subscribe: undefined,
  payload: undefined,
  expiresAt: undefined,
  admin: false,
};

const USERS = ['ada', 'grace', 'linus', 'margaret', 'ken'];
const ACTIONS = ['indexed a URL', 'closed a job', 'opened a ticket', 'synced balances', 'deployed'];

/**
 * A built-in publisher so a new user sees updates (and the dashboard move) at once: running
 * counters every 500 ms and an activity event every ~2 s. Returns a stop function.
 */
export function startDemoPublisher(hub: Hub, onError: (e: unknown) => void): () => void {
  const counters = { processed: 0, indexed: 0, notIndexed: 0, errors: 0 };
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const n = 1 + Math.floor(Math.random() * 5);
    for (let i = 0; i < n; i++) {
      counters.processed++;
      const r = Math.random();
      if (r < 0.7) counters.indexed++;
      else if (r < 0.95) counters.notIndexed++;
      else counters.errors++;
    }
    const updates = [
      {
        topics: [DEMO_TOPICS.metrics],
        data: JSON.stringify({ ...counters, at: Date.now() }),
        type: 'stats',
        private: false,
      },
    ];
    if (tick % 4 === 0) {
      const who = USERS[Math.floor(Math.random() * USERS.length)]!;
      const what = ACTIONS[Math.floor(Math.random() * ACTIONS.length)]!;
      updates.push({
        topics: [DEMO_TOPICS.activity],
        data: JSON.stringify({ user: who, action: what, at: Date.now() }),
        type: 'activity_created',
        private: false,
      });
    }
    hub.publish(updates, DEMO_PRINCIPAL).catch(onError);
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}
