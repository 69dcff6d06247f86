import { randomUUID } from 'node:crypto';
import { parseCliArgs as parseArgs } from './args.ts';
import { publishHelp } from './help.ts';
import { mintToken } from '../auth/mint.ts';
import { cliDetails, DEV_ISSUER, discoverResource, mintAccessToken } from './access.ts';
import { signingSecret } from './key-from-env.ts';

/** `herald publish TOPIC DATA`: publish one update and print its id. */
export async function publish(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      type: { type: 'string' },
      id: { type: 'string' },
      private: { type: 'boolean' },
      retry: { type: 'string' },
      url: { type: 'string' },
      path: { type: 'string' },
      token: { type: 'string' },
      'jwt-key': { type: 'string' },
      access: { type: 'boolean' },
      issuer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(publishHelp);
    return;
  }
  const [topic, data] = positionals;
  if (!topic || data === undefined || positionals.length > 2)
    throw new Error(`expected TOPIC and DATA\n${publishHelp}`);
  const base = values.url ?? process.env['HERALD_URL'] ?? 'http://localhost:3000';
  const path = values.path ?? process.env['HERALD_PATH'] ?? '/.well-known/mercure';
  const jwt =
    values.token ??
    process.env['HERALD_TOKEN'] ??
    (values.access
      ? await mintAccessToken({
          secret: signingSecret(values['jwt-key']),
          issuer: values.issuer ?? process.env['HERALD_TOKEN_ISSUER'] ?? DEV_ISSUER,
          audience: await discoverResource(new URL(path, base)),
          details: cliDetails({ publish: [topic] }),
          ttl: '5m',
        })
      : await mintToken({ secret: signingSecret(values['jwt-key']), publish: ['*'], ttl: '5m' }));
  const form = new URLSearchParams({ topic, data });
  if (values.type) form.set('type', values.type);
  if (values.id) form.set('id', values.id);
  if (values.retry) form.set('retry', values.retry);
  if (values.private) form.set('private', 'on');
  // A timeout or a 503 may hide a publish the hub stored: the retries carry the same key, so
  // the hub answers them with the first id instead of publishing again.
  const idempotencyKey = randomUUID();
  let res: Response | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    try {
      res = await fetch(new URL(path, base), {
        method: 'POST',
        headers: { Authorization: `Bearer ${jwt}`, 'Idempotency-Key': idempotencyKey },
        body: form,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      if (attempt < 2 && (e as Error).name === 'TimeoutError') continue;
      throw new Error(
        `cannot reach hub at ${base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`,
        { cause: e },
      );
    }
    if (res.status !== 503 || attempt === 2) break;
    await res.text(); // read, so the connection is reused
  }
  if (!res) throw new Error(`hub at ${base} did not answer`);
  const body = (await res.text()).trim();
  if (!res.ok) throw new Error(`hub answered ${res.status}: ${body}`);
  console.log(body);
}
