// Test page: the docs' state-topics React snippet, mounted and unmounted on demand.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { StatsApp } from '../../docs/snippets/react-counters.tsx';

const params = new URLSearchParams(location.search);
const hub = params.get('hub')!;
const token = params.get('token')!;

function Page() {
  const [shown, setShown] = useState(true);
  return (
    <>
      <button id="toggle" onClick={() => setShown((s) => !s)}>
        toggle
      </button>
      {shown && <StatsApp hubUrl={hub} token={token} />}
    </>
  );
}

createRoot(document.getElementById('root')!).render(<Page />);
