import { parseCliArgs as parseArgs } from './args.ts';
import { tokenHelp } from './help.ts';
import { mintToken } from '../auth/mint.ts';
import { cliDetails, DEV_ISSUER, discoverResource, mintAccessToken } from './access.ts';
import { signingSecret } from './key-from-env.ts';

/** `herald token`: print a JWT for the given grants. */
export async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      publish: { type: 'string', multiple: true },
      subscribe: { type: 'string', multiple: true },
      sub: { type: 'string' },
      ttl: { type: 'string' },
      admin: { type: 'boolean' },
      'jwt-key': { type: 'string' },
      payload: { type: 'string' },
      access: { type: 'boolean' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      url: { type: 'string' },
      path: { type: 'string' },
      'publish-pattern': { type: 'string', multiple: true },
      'subscribe-pattern': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(tokenHelp);
    return;
  }
  if (values.ttl !== undefined && !/^\d+(s|m|h|d)?$/.test(values.ttl))
    throw new Error(`--ttl: "${values.ttl}" is not a duration like 30m, 1h or 7d`);
  if (!values.publish && !values.subscribe && !values.admin)
    process.stderr.write(
      'herald token: warning: this token grants nothing (no --publish, --subscribe or --admin)\n',
    );
  let payload: unknown;
  if (values.payload !== undefined) {
    try {
      payload = JSON.parse(values.payload);
    } catch {
      throw new Error('--payload must be JSON');
    }
  }
  if (values.access) {
    if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload)))
      throw new Error('--payload must be a JSON object for an access token');
    const hub = new URL(
      values.path ?? process.env['HERALD_PATH'] ?? '/.well-known/mercure',
      values.url ?? process.env['HERALD_URL'] ?? 'http://localhost:3000',
    );
    console.log(
      await mintAccessToken({
        secret: signingSecret(values['jwt-key']),
        issuer: values.issuer ?? process.env['HERALD_TOKEN_ISSUER'] ?? DEV_ISSUER,
        audience: values.audience ?? (await discoverResource(hub)),
        details: cliDetails({
          ...(values.publish ? { publish: values.publish } : {}),
          ...(values.subscribe ? { subscribe: values.subscribe } : {}),
          ...(values['publish-pattern'] ? { publishPattern: values['publish-pattern'] } : {}),
          ...(values['subscribe-pattern'] ? { subscribePattern: values['subscribe-pattern'] } : {}),
          ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
        }),
        ...(values.sub ? { subject: values.sub } : {}),
        ...(values.ttl ? { ttl: values.ttl } : {}),
        ...(values.admin ? { admin: true } : {}),
      }),
    );
    return;
  }
  const jwt = await mintToken({
    secret: signingSecret(values['jwt-key']),
    ...(values.publish ? { publish: values.publish } : {}),
    ...(values.subscribe ? { subscribe: values.subscribe } : {}),
    ...(values.sub ? { subject: values.sub } : {}),
    ...(values.ttl ? { ttl: values.ttl } : {}),
    ...(values.admin ? { admin: true } : {}),
    ...(payload !== undefined ? { payload } : {}),
  });
  console.log(jwt);
}
