// The dashboard: all projects, or one (`/?projectId=blog`). The server mints a token that may
// read the stats topics and nothing else; the numbers come live from the hub (stats.tsx).
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { mintToken } from 'herald';
import { PROJECTS, STATS_SCOPE, statsTopic } from '../lib/herald';
import { Stats } from './stats';

export const dynamic = 'force-dynamic';

export default async function Page({ searchParams }: { searchParams: Promise<{ projectId?: string }> }) {
  const { projectId } = await searchParams;
  if (projectId !== undefined && !PROJECTS.includes(projectId)) notFound();
  const h = await headers();
  const hubUrl = `${h.get('x-forwarded-proto') ?? 'http'}://${h.get('host')}/api/mercure`;
  const token = await mintToken({
    secret: process.env['HERALD_JWT_KEY']!,
    subject: 'dashboard-user',
    subscribe: [STATS_SCOPE],
    ttl: '1h',
  });
  return (
    <main>
      <h1>URL indexing: {projectId ?? 'all projects'}</h1>
      <nav style={{ display: 'flex', gap: '1rem' }}>
        <a href="/">All projects</a>
        {PROJECTS.map((p) => (
          <a key={p} href={`/?projectId=${p}`}>
            {p}
          </a>
        ))}
      </nav>
      <Stats hubUrl={hubUrl} token={token} topic={statsTopic(projectId)} />
    </main>
  );
}
