// Test page: the docs' state-topics React snippet, mounted and unmounted on demand.
import { StatsApp } from '../../docs/snippets/react-counters.tsx';
import { mountWithToggle } from '../support/toggle-page.tsx';

mountWithToggle((hub, token) => <StatsApp hubUrl={hub} token={token} />);
