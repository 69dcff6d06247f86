/**
 * `herald`: the hub as a library. `createHub()` builds a hub to mount inside an application
 * (fetch handler, node/Express handler, WebSocket upgrade); `startHerald()` runs the
 * standalone server.
 */
export { createHub, DEV_JWT_KEY } from './create-hub.ts';
export type { HeraldHub, HeraldOptions, ServerPublish } from './create-hub.ts';
export { startHerald } from './start.ts';
export type { HeraldDeps, RunningHerald } from './start.ts';
export type { FetchHandler, FetchInfo } from './http/fetch-adapter.ts';
export type { NodeHandler } from './http/node-adapter.ts';
export type { HeraldConfig } from './config/definitions.ts';
export { mintToken, type MintOptions } from './auth/mint.ts';
export { ErrorCode, HeraldError, isHeraldError } from './protocol/errors.ts';
export type { PublishInput, Update } from './protocol/update.ts';
