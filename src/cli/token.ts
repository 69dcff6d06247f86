import { parseCliArgs as parseArgs } from './args.ts';
import { mintToken } from '../auth/mint.ts';
import { signingSecret } from './key-from-env.ts';

export const tokenHelp = `Usage: herald token [--publish SEL]... [--subscribe SEL]... [--sub NAME] [--ttl 1h] [--admin] [--jwt-key K]
Prints a JWT signed with the hub's HS secret (--jwt-key, or HERALD_JWT_KEY).
The token never expires unless --ttl is given (30m, 1h, 7d). --admin opens the dashboard.`;

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
