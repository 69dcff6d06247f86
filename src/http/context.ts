import type { Logger } from 'pino';
import type { Authorizer } from '../auth/authorizer.ts';
import type { Hub } from '../hub/hub.ts';
import type { HttpOptions } from './options.ts';

/** Everything a route needs; built once by the server. */
export interface HttpContext {
  hub: Hub;
  authorizer: Authorizer;
  options: HttpOptions;
  logger: Logger;
}
