import { DEV_JWT_KEY } from '../start.ts';

/** The HS secret the CLI signs with: --jwt-key, then HERALD_JWT_KEY/HERALD_PUBLISHER_JWT_KEY, then the dev key. */
export function signingSecret(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const key = flag ?? env['HERALD_JWT_KEY'] ?? env['HERALD_PUBLISHER_JWT_KEY'];
  if (key) return key;
  process.stderr.write(
    'herald: no --jwt-key or HERALD_JWT_KEY; signing with the dev key (works only with --dev hubs)\n',
  );
  return DEV_JWT_KEY;
}
