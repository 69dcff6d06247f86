import { splitTopic } from './format.ts';

/**
 * A topic that keeps its distinguishing end in view: a narrow column cuts the middle, never
 * the end. The full name is the tooltip and the accessible name, and is what copying selects.
 */
export function TopicName({ topic, title }: { topic: string; title?: string }) {
  const { head, tail } = splitTopic(topic);
  return (
    <span className="topic-name mono" title={title ?? topic} data-topic={topic}>
      {head ? <span className="topic-head">{head}</span> : null}
      <span className="topic-tail">{tail}</span>
    </span>
  );
}
