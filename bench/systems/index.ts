/** Every system the bench knows, in report order. */
import { expressSse } from './express.ts';
import type { SystemUnderTest } from './types.ts';

export const ALL_SYSTEMS: SystemUnderTest[] = [expressSse];
