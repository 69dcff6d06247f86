import type { ReactNode } from 'react';

export const metadata = { title: 'URL indexing stats' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ font: '16px system-ui, sans-serif', margin: '2rem', background: '#f5f7fa' }}>
        {children}
      </body>
    </html>
  );
}
