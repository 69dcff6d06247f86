// Abuse class: a public patch lowering the visibility of a private retained state (issue 15,
// item 5). A publisher allowed to publish, but not to subscribe, must not be able to read
// another publisher's private state by patching it and listening anonymously.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HeraldConfig } from '../../src/config/definitions.ts';
import type { RunningHerald } from '../../src/start.ts';
import {
  hubUrl,
  publishJson,
  publisherToken,
  startTestHub,
  subscriberToken,
} from '../support/hub-fixture.ts';
import { onEachBroker } from '../support/redis-server.ts';
import { SseConnection } from '../support/sse-client.ts';

const SECRET = 'the-owners-secret-4242';

function privacyScenario(name: string, config: () => Partial<HeraldConfig>): void {
  describe(`${name}: a patch never makes a private retained state public`, () => {
    let hub: RunningHerald;
    const open: SseConnection[] = [];
    before(async () => {
      hub = await startTestHub({ anonymous: true, ...config() });
    });
    after(async () => {
      for (const c of open) c.close();
      await hub.close();
    });
    const sse = async (topic: string, query = '', token?: string): Promise<SseConnection> => {
      const c = await SseConnection.open(
        hubUrl(hub, `?topic=${encodeURIComponent(topic)}${query}`),
        token ? { Authorization: `Bearer ${token}` } : {},
      );
      open.push(c);
      await c.live();
      return c;
    };

    test('an anonymous subscriber sees neither the patched state nor it in a snapshot', async () => {
      const topic = `https://example.com/private-state/${name}`;
      const owner = await publisherToken([topic]);
      const intruder = await publisherToken([topic]); // may publish, may not subscribe
      const res = await publishJson(
        hub,
        { topics: topic, data: { secret: SECRET }, retain: true, private: true },
        owner,
      );
      assert.equal(res.status, 200, res.body);

      const anonymous = await sse(topic);
      const anonymousState = await sse(topic, '&snapshot=1');
      const allowed = await sse(topic, '', await subscriberToken([topic]));

      const patched = await publishJson(hub, { topics: topic, patch: { $inc: { probes: 1 } } }, intruder);
      assert.equal(patched.status, 200, patched.body);
      // The allowed subscriber receives the merged state: the patch really happened.
      await allowed.waitForUpdates(1);
      assert.match(allowed.updates[0]!.data, new RegExp(SECRET));
      assert.match(allowed.updates[0]!.data, /"probes":1/);

      // A public marker after it: once it arrived, anything the patch sent would have too.
      const marker = await publishJson(hub, { topics: topic, data: 'marker' }, intruder);
      assert.equal(marker.status, 200, marker.body);
      await anonymous.waitForUpdates(1);
      await anonymousState.waitFor(() => anonymousState.events.some((e) => e.data === 'marker'), 'marker');
      assert.deepEqual(
        anonymous.updates.map((u) => u.data),
        ['marker'],
      );
      assert.ok(!anonymous.body.includes(SECRET), 'the plain subscriber got the private state');
      assert.ok(!anonymousState.body.includes(SECRET), 'the state-mode subscriber got the private state');

      // A new anonymous snapshot does not list the state, which is still private.
      const later = await sse(topic, '&snapshot=1');
      const snap = later.events.find((e) => e.event === 'herald.snapshot');
      assert.ok(snap, 'snapshot event');
      assert.deepEqual(JSON.parse(snap.data).states, []);
      const owners = await sse(topic, '&snapshot=1', await subscriberToken([topic]));
      const ownSnap = owners.events.find((e) => e.event === 'herald.snapshot');
      assert.match(ownSnap!.data, new RegExp(SECRET));
    });

    test('a full public replacement may make it public, without revealing the old contents', async () => {
      const topic = `https://example.com/private-state-replaced/${name}`;
      const owner = await publisherToken([topic]);
      await publishJson(hub, { topics: topic, data: { secret: SECRET }, retain: true, private: true }, owner);
      const anonymous = await sse(topic, '&snapshot=1');
      const res = await publishJson(hub, { topics: topic, data: { fresh: true }, retain: true }, owner);
      assert.equal(res.status, 200, res.body);
      await anonymous.waitFor(() => anonymous.events.some((e) => e.event === 'herald.state'), 'state');
      const state = anonymous.events.find((e) => e.event === 'herald.state')!;
      assert.deepEqual(JSON.parse(state.data).state, { fresh: true });
      assert.ok(!anonymous.body.includes(SECRET));
    });
  });
}

onEachBroker(privacyScenario);
