/**
 * `herald/client`: subscribe (SSE or WebSocket, with reconnect and resume) and publish. Runs in
 * browsers and Node; nothing here imports a Node module.
 */
export { subscribe } from './subscribe.ts';
export type { ConnectionStatus, HeraldSubscription, SubscribeOptions, TransportChoice } from './subscribe.ts';
export type { HeraldUpdate } from './transport.ts';
export { createPublisher } from './publisher.ts';
export type { HeraldPublisher, PublisherOptions, PublishOptions } from './publisher.ts';
export { HeraldClientError } from './errors.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export type { WebSocketCtor, WebSocketLike } from './ws.ts';
export type { SnapshotPayload, StatePayload, JsonValue } from '../protocol/state.ts';
export { StateCache } from './state-cache.ts';
export { STATS_TOPIC, type HubStatsSnapshot, type RateSample, type TopicStats } from '../protocol/stats.ts';
export { HubEvent, type HubEventName } from '../protocol/update.ts';
