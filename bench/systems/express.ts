/** Express + SSE baseline, started as its own process. */
import { fdLimit, freePort, spawnProcess, waitForHttp } from '../lib/proc.ts';
import { MERCURE_SUBSCRIBE, mercureBatch, mercureForm, type RunningSystem, type SystemUnderTest } from './types.ts';

export const expressSse: SystemUnderTest = {
  name: 'express-sse',
  available: () => Promise.resolve(undefined),
  async start(): Promise<RunningSystem> {
    const port = await freePort();
    const proc = spawnProcess('express-sse', process.execPath, ['--import', 'tsx', 'bench/baselines/express-sse.ts', String(port)]);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000, proc);
    const pid = proc.child.pid ?? 0;
    const node = { host: '127.0.0.1', port };
    return {
      name: 'express-sse',
      target: { kind: 'sse', nodes: [node], pathTemplate: MERCURE_SUBSCRIBE },
      publishNode: node,
      pids: () => [pid],
      fdLimit: fdLimit(pid),
      resumes: false,
      publishRequest: (topic, data) => mercureForm(topic, data),
      batchRequest: (items) => mercureBatch(items),
      stop: () => proc.stop(),
    };
  },
};
