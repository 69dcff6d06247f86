// Activity feed on Herald: the app owns users, activities and who may change what; Herald
// fans the typed events out to every open tab, keeps assignment notices private to the
// assignee, and reports who is online.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { AppError, closeServer, listen, readCookie, readFields, sendHtml, sendJson } from '../shared/http.ts';
import type { ExampleOptions } from '../shared/options.ts';
import { Teardown } from '../shared/teardown.ts';
import { hubCookie, startExampleHub, type Publication } from '../shared/herald.ts';
import { changedActivity, newActivity, STATUSES, USERS, type Activity } from './feed.ts';
import { trackPresence, type Online } from './presence.ts';

const FEED = 'https://feed.example/activities';
const PRESENCE = 'https://feed.example/presence';
const assignmentsOf = (user: string) => `https://feed.example/users/${user}/assignments`;
const ACTIVITY_ID = /^a-\d{1,9}$/;

export async function start(opts: ExampleOptions = {}) {
  const teardown = new Teardown();
  return teardown.guard(() => build(opts, teardown));
}

async function build(opts: ExampleOptions, teardown: Teardown) {
  const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  const sessions = new Map<string, string>(); // session id -> user
  const activities = new Map<string, Activity>();
  let online: Online[] = [];
  let nextId = 1;

  function userOf(req: IncomingMessage): string {
    const user = sessions.get(readCookie(req, 'feed_session') ?? '');
    if (!user) throw new AppError(401, 'sign in first');
    return user;
  }
  const person = (user: string) => ({ user, name: USERS[user]! });

  const app = await listen(opts.port ?? 0, async (req, res, url) => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/' && method === 'GET') {
      // Whether this browser is signed in is known here: a signed-out page shows only the
      // sign-in, without first asking the API (and getting a 401) to find out.
      const signedIn = sessions.has(readCookie(req, 'feed_session') ?? '');
      return sendHtml(res, page.replace('__SIGNED_IN__', String(signedIn)));
    }
    if (path === '/login' && method === 'POST') {
      const { user = '' } = await readFields(req);
      if (!USERS[user]) throw new AppError(400, `unknown user "${user.slice(0, 40)}"`);
      const session = randomBytes(16).toString('hex');
      sessions.set(session, user);
      // Everyone reads the feed and presence; only you read your assignment notices. The
      // payload is what the subscriptions API shows about you: presence needs nothing else.
      const token = await hub.subscriberToken(
        `user:${user}`,
        [FEED, PRESENCE, assignmentsOf(user)],
        person(user),
      );
      res.writeHead(303, {
        Location: '/',
        'Set-Cookie': [`feed_session=${session}; Path=/; HttpOnly; SameSite=Strict`, hubCookie(token)],
      });
      return void res.end();
    }
    if (path === '/logout' && method === 'POST') {
      sessions.delete(readCookie(req, 'feed_session') ?? '');
      res.writeHead(303, {
        Location: '/',
        'Set-Cookie': ['feed_session=; Path=/; Max-Age=0', `${hubCookie('')}; Max-Age=0`],
      });
      return void res.end();
    }
    if (path === '/api/feed' && method === 'GET') {
      const me = userOf(req);
      const topics = new URLSearchParams([
        ['topic', FEED],
        ['topic', PRESENCE],
        ['topic', assignmentsOf(me)],
      ]);
      // The snapshot below ends exactly there (at the last update this user may see).
      topics.set(
        'lastEventID',
        hub.cursorFor((t) => t === assignmentsOf(me)),
      );
      return sendJson(res, 200, {
        me: person(me),
        users: USERS,
        statuses: STATUSES,
        activities: [...activities.values()].reverse(),
        online,
        stream: `${hub.hubUrl(req)}?${topics}`,
      });
    }
    if (path === '/api/activities' && method === 'POST') {
      const me = userOf(req);
      const activity = newActivity(() => `a-${nextId++}`, me, await readFields(req));
      await hub.commit([{ topics: [FEED], type: 'activity_created', data: activity }], () =>
        activities.set(activity.id, activity),
      );
      return sendJson(res, 201, { activity });
    }
    const one = /^\/api\/activities\/([^/]+)$/.exec(path);
    if (one && method === 'POST') {
      const me = userOf(req);
      const id = one[1]!;
      if (!ACTIVITY_ID.test(id))
        throw new AppError(400, `invalid activity id "${id.slice(0, 40)}": expected a-<number>`);
      const before = activities.get(id);
      if (!before) throw new AppError(404, `no activity ${id}`);
      const after = changedActivity(before, await readFields(req));
      const updates: Publication[] = [
        { topics: [FEED], type: 'activity_updated', data: { ...after, updatedBy: person(me) } },
      ];
      if (after.assignedTo !== before.assignedTo) {
        // A private notice to the new assignee and to the one who lost it; nobody else.
        const notice = { activity: after, from: before.assignedTo, to: after.assignedTo, by: person(me) };
        for (const user of [before.assignedTo, after.assignedTo])
          if (user)
            updates.push({
              topics: [assignmentsOf(user)],
              type: 'assignment_changed',
              data: notice,
              private: true,
            });
      }
      await hub.commit(updates, () => activities.set(id, after));
      return sendJson(res, 200, { activity: after });
    }
    throw new AppError(404, `no route for ${method} ${path.slice(0, 80)}`);
  });
  teardown.add('app server', app.server, closeServer);

  // Started second: it lets pages of the app's origin in. Nobody has the URL before start() returns.
  const hub = teardown.add(
    'hub',
    await startExampleHub(app.origin, { subscriptions: true, port: opts.hubPort ?? 0 }),
    (h) => h.close(),
  );
  const presenceToken = await hub.subscriberToken('feed-app', [
    `${hub.herald.config.path}/subscriptions{/topic,subscriber}`,
  ]);
  const stopPresence = trackPresence(hub, FEED, presenceToken, (now) =>
    hub.commit(
      [{ topics: [PRESENCE], type: 'presence_updated', data: { online: now } }],
      () => (online = now),
    ),
  );
  teardown.add('presence', stopPresence, (stop) => stop());
  return {
    url: app.origin,
    endpoints: { hub: hub.herald.url + hub.herald.config.path },
    close: () => teardown.run(),
  };
}
