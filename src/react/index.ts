/**
 * `herald/react`: live topics as React state. Wrap the app in `<HeraldProvider url=...>`, then
 * `useTopic(topics, { initial, reduce })` in any component; all of them share one connection
 * per hub.
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
export { ConnectionRegistry, type HubSettings, type OverallStatus, type TopicListener } from './registry.ts';
