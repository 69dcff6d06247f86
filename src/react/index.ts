/**
 * `herald/react`: live topics as React state. Wrap the app in `<HeraldProvider url=...>`, then
 * `useTopic(topics, { initial, reduce })` in any component — or `useTopic(topics, { state: true })`
 * for the merged state of state topics; they share one connection per hub (and per state mode).
 */
export {
  ConnectionStatus,
  HeraldProvider,
  useHeraldStatus,
  useTopic,
  type ConnectionStatusProps,
  type HeraldProviderProps,
  type TopicState,
  type UseTopicOptions,
} from './components.tsx';
export {
  ConnectionRegistry,
  type HubSettings,
  type OverallStatus,
  type StateMode,
  type TopicListener,
} from './registry.ts';
