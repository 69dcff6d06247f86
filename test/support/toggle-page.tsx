// Shared by the React test pages: reads `hub` and `token` from the page's URL and mounts the
// docs snippet under test behind a #toggle button, so a test can unmount and remount it.
import { useState, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';

export function mountWithToggle(snippet: (hub: string, token: string) => ReactElement): URLSearchParams {
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
        {shown && snippet(hub, token)}
      </>
    );
  }
  createRoot(document.getElementById('root')!).render(<Page />);
  return params;
}
