import { useEffect, useId, useState, type FormEvent } from 'react';
import { formatClock, formatCount } from './format.ts';
import { TAIL_LIMIT, type Tail } from './live.ts';
import { Card } from './Panels.tsx';
import { TopicName } from './TopicName.tsx';

/** Ids share long prefixes (`urn:uuid:`, time-ordered digits); the end is what tells rows apart. */
function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-13)}` : id;
}

/** Live updates matching a selector, newest first, with pause and clear. */
export function TailView({
  tail,
  selector,
  selectorError,
  onSelector,
}: {
  tail: Tail;
  selector: string;
  selectorError: string | null;
  onSelector(selector: string): void;
}) {
  const [draft, setDraft] = useState(selector);
  const id = useId();
  // The applied selector may be reverted by the app (refused by the hub); show what is live.
  useEffect(() => setDraft(selector), [selector]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = draft.trim() || '*';
    if (next !== selector) onSelector(next);
  };

  const actions = (
    <div className="tail-actions">
      <span className="muted num tail-count" aria-live="polite">
        {tail.paused
          ? `paused · ${formatCount(tail.waiting)} new`
          : `${formatCount(tail.items.length)} / ${TAIL_LIMIT}`}
      </span>
      <button
        type="button"
        onClick={() => tail.setPaused(!tail.paused)}
        aria-pressed={tail.paused}
        data-testid="tail-pause"
      >
        {tail.paused ? 'Resume' : 'Pause'}
      </button>
      <button type="button" onClick={tail.clear}>
        Clear
      </button>
    </div>
  );

  return (
    <Card title="Live tail" className="card-tail" actions={actions} testId="tail">
      <form className="selector" onSubmit={apply}>
        <label htmlFor={`${id}-sel`}>Topic selector</label>
        <input
          id={`${id}-sel`}
          className="mono"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="* or /books/{id}"
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit">Apply</button>
      </form>
      <p className="selector-error" role="alert">
        {selectorError ?? ''}
      </p>
      <div className="scroller tail-list" data-testid="tail-list">
        {tail.items.length === 0 ? (
          <p className="empty">{tail.paused ? 'Paused' : 'Waiting for updates…'}</p>
        ) : (
          <ol className="tail">
            {tail.items.map((item) => (
              <li key={item.seq} className="tail-item">
                <span className="tail-time num">{formatClock(item.receivedAt)}</span>
                <span className="tail-topic">
                  {item.topics[0] !== undefined ? (
                    <TopicName
                      topic={item.topics[0]}
                      title={item.topics.length > 1 ? item.topics.join('\n') : item.topics[0]}
                    />
                  ) : (
                    <span className="muted">–</span>
                  )}
                </span>
                <span className={item.type ? 'tail-type' : 'tail-type none'}>{item.type ?? 'message'}</span>
                <span className="tail-id mono" title={item.id}>
                  {shortId(item.id)}
                </span>
                <code className="tail-data">{item.data}</code>
              </li>
            ))}
          </ol>
        )}
      </div>
    </Card>
  );
}
