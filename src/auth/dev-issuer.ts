/** Issuer the CLI signs draft-08 tokens as by default; `--dev` hubs trust it with the dev key. */
export const DEV_ISSUER = 'herald-dev';
