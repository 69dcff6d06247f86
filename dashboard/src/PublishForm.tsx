import { useId, useState, type FormEvent } from 'react';
import { publishUpdate } from './hub.ts';
import { Card } from './Panels.tsx';

type Outcome = { ok: true; id: string } | { ok: false; message: string } | null;

/** Sends a test update through the hub, as a publisher would. */
export function PublishForm({ hubUrl, token }: { hubUrl: string; token: string | null }) {
  const [topic, setTopic] = useState('/demo/hello');
  const [data, setData] = useState('{"hello":"world"}');
  const [type, setType] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const ids = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const id = await publishUpdate({
        url: hubUrl,
        token,
        topic: topic.trim(),
        data,
        type: type.trim(),
        private: isPrivate,
      });
      setOutcome({ ok: true, id });
    } catch (err) {
      setOutcome({ ok: false, message: err instanceof Error ? err.message : 'publish failed' });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Publish a test update" testId="publish">
      <form className="publish" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${ids}-topic`}>Topic</label>
        <input
          id={`${ids}-topic`}
          name="topic"
          className="mono"
          value={topic}
          onChange={(e) => setTopic(e.target.value)}
          required
          spellCheck={false}
          autoComplete="off"
        />
        <label htmlFor={`${ids}-data`}>Data</label>
        <textarea
          id={`${ids}-data`}
          name="data"
          className="mono"
          rows={3}
          value={data}
          onChange={(e) => setData(e.target.value)}
          spellCheck={false}
        />
        <label htmlFor={`${ids}-type`}>Type</label>
        <input
          id={`${ids}-type`}
          name="type"
          className="mono"
          value={type}
          onChange={(e) => setType(e.target.value)}
          placeholder="optional SSE event type"
          spellCheck={false}
          autoComplete="off"
        />
        <div className="publish-row">
          <label className="check">
            <input
              type="checkbox"
              name="private"
              checked={isPrivate}
              onChange={(e) => setPrivate(e.target.checked)}
            />{' '}
            Private
          </label>
          <button type="submit" className="primary" disabled={busy || topic.trim() === ''}>
            {busy ? 'Publishing…' : 'Publish'}
          </button>
        </div>
        <p
          className={outcome && !outcome.ok ? 'outcome error' : 'outcome'}
          role="status"
          data-testid="publish-outcome"
        >
          {outcome === null ? (
            '\u00a0'
          ) : outcome.ok ? (
            <>
              Published <code>{outcome.id}</code>
            </>
          ) : (
            outcome.message
          )}
        </p>
      </form>
    </Card>
  );
}
