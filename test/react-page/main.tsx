// Test page: the docs' React snippet (mounted and unmounted on demand), the docs' browser
// snippet, and the client itself on `window` for direct checks.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import * as client from 'herald/client';
import { showTicker } from '../../docs/snippets/browser-ticker.ts';
import { App } from '../../docs/snippets/react-jobs.tsx';

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
      {shown && <App hubUrl={hub} token={token} />}
    </>
  );
}

createRoot(document.getElementById('root')!).render(<Page />);
(window as unknown as Record<string, unknown>)['herald'] = client;
if (params.get('ticker')) showTicker(hub, token, document.getElementById('ticker')!);
