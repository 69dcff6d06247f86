/** Every system the bench knows, in report order. */
import { expressSse } from './express.ts';
import { heraldRedisCluster } from './herald-cluster.ts';
import { herald, heraldRedis, heraldWorkers, heraldWorkers3 } from './herald.ts';
import { nchan } from './nchan.ts';
import { socketIo } from './socketio.ts';
import type { SystemUnderTest } from './types.ts';

export const ALL_SYSTEMS: SystemUnderTest[] = [
  herald,
  heraldWorkers,
  heraldWorkers3,
  heraldRedis,
  heraldRedisCluster,
  expressSse,
  socketIo,
  nchan,
];
