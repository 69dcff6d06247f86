import type { Principal } from './principal.ts';

export type Role = 'publisher' | 'subscriber';

/** Turns a presented token (or none) into a Principal, or throws a 401 HeraldError. */
export interface Authorizer {
  authenticate(token: string | undefined, role: Role): Promise<Principal>;
}
