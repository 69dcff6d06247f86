// The message queue in Redis, shared by the API (producer) and the worker (consumer).
export const PENDING = 'messages:pending';
/** Where the worker moves a batch while it works on it (one worker; name it per worker for more). */
export const PROCESSING = 'messages:processing';
export const metricsTopic = 'https://herald.example/pipeline/metrics';

export interface QueuedMessage {
  id: string;
  user_id: number;
  channel_id: number;
  content: string;
  created_at: string;
}
