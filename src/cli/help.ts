/**
 * The CLI's help texts, apart from the commands so that `herald --help` and `--version` load
 * no command module (main.ts imports a command only to run it).
 */
import { DEV_ISSUER } from '../auth/dev-issuer.ts';

export const tokenHelp = `Usage: herald token [--publish SEL]... [--subscribe SEL]... [--sub NAME] [--ttl 1h] [--admin] [--jwt-key K]
Prints a JWT signed with the hub's HS secret (--jwt-key, or HERALD_JWT_KEY).
The token never expires unless --ttl is given (30m, 1h, 7d). --admin opens the dashboard.
  --access: a Mercure draft-08 access token instead (typ at+jwt, authorization_details):
    --issuer ISS (default ${DEV_ISSUER}; the hub must list it in --token-issuers),
    --audience AUD (default: read from the hub at --url / HERALD_URL), --ttl (default 1h),
    --publish/--subscribe take exact topics, --publish-pattern/--subscribe-pattern URL patterns.`;

export const publishHelp = `Usage: herald publish TOPIC DATA [--type T] [--id ID] [--private] [--retry MS] [--url URL] [--token JWT]
Publishes one update to a running hub (default http://localhost:3000, or HERALD_URL).
Token: --token, HERALD_TOKEN, or one signed with --jwt-key / HERALD_JWT_KEY
(--access: a draft-08 access token from --issuer, default ${DEV_ISSUER}, for the hub's resource).`;

export const tailHelp = `Usage: herald tail SELECTOR... [--url URL] [--token JWT] [--last-event-id ID] [--draft-08] [--pattern P]...
Prints every update matching the selectors, one line each: id, type, data. Reconnects and resumes.
--draft-08: the selectors are sent as draft-08 exact matchers (match=); --pattern adds URL patterns.`;
