/** Socket.IO 4 + Redis adapter baseline, with its own redis-server. */
import { fdLimit, freePort, spawnProcess, waitForHttp } from '../lib/proc.ts';
import { redisMissing, startRedis } from '../lib/redis.ts';
import { mercureBatch, mercureForm, type RunningSystem, type SystemUnderTest } from './types.ts';

export const socketIo: SystemUnderTest = {
  name: 'socketio-redis',
  available: () => Promise.resolve(redisMissing()),
  async start(): Promise<RunningSystem> {
    const redis = await startRedis();
    const port = await freePort();
    const proc = spawnProcess('socketio', process.execPath, ['--import', 'tsx', 'bench/baselines/socketio.ts', String(port), redis.url]);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000, proc);
    } catch (err) {
      await proc.stop();
      await redis.stop();
      throw err;
    }
    const pid = proc.child.pid ?? 0;
    const node = { host: '127.0.0.1', port };
    return {
      name: 'socketio-redis',
      target: { kind: 'socketio', nodes: [node], pathTemplate: '' },
      // Its clients are WebSocket-only already (transports: ['websocket']).
      wsTarget: { kind: 'socketio', nodes: [node], pathTemplate: '' },
      publishNode: node,
      // Redis relays every broadcast even on one node, so it is part of the system's cost.
      pids: () => [pid, redis.pid],
      fdLimit: fdLimit(pid),
      resumes: false,
      publishRequest: (topic, data) => mercureForm(topic, data),
      batchRequest: (items) => mercureBatch(items),
      async stop() {
        await proc.stop();
        await redis.stop();
      },
    };
  },
};
