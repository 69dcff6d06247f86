// Test page: the docs' React snippet (mounted and unmounted on demand), the docs' browser
// snippet, and the client itself on `window` for direct checks.
import * as client from 'herald/client';
import { showTicker } from '../../docs/snippets/browser-ticker.ts';
import { App } from '../../docs/snippets/react-jobs.tsx';
import { mountWithToggle } from '../support/toggle-page.tsx';

const params = mountWithToggle((hub, token) => <App hubUrl={hub} token={token} />);
(window as unknown as Record<string, unknown>)['herald'] = client;
if (params.get('ticker'))
  showTicker(params.get('hub')!, params.get('token')!, document.getElementById('ticker')!);
