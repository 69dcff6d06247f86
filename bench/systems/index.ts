/** Every system the bench knows, in report order. */
import { expressSse } from './express.ts';
import { herald, heraldRedis } from './herald.ts';
import { nchan } from './nchan.ts';
import { socketIo } from './socketio.ts';
import type { SystemUnderTest } from './types.ts';

export const ALL_SYSTEMS: SystemUnderTest[] = [herald, heraldRedis, expressSse, socketIo, nchan];
