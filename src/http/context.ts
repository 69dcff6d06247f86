import type { Logger } from 'pino';
import type { Authorizer } from '../auth/authorizer.ts';
import type { Hub } from '../hub/hub.ts';
import type { WriteBatch } from '../transport/write-batch.ts';
import type { HttpOptions } from './options.ts';

/** Everything a route needs; built once by the server. */
export interface HttpContext {
  hub: Hub;
  authorizer: Authorizer;
  options: HttpOptions;
  logger: Logger;
  /** The hub's per-turn write batch: SSE (HTTP/1.x and HTTP/2) and WebSocket writes leave together. */
  writes: WriteBatch;
}
