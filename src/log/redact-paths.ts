/**
 * What Herald's own logger censors (defence in depth: nothing logs tokens, and these paths
 * are censored if something ever does).
 */
export const REDACTED_PATHS: readonly string[] = [
  'token',
  'authorization',
  'cookie',
  '*.token',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'jwtKey',
  '*.jwtKey',
  'metricsToken',
  '*.metricsToken',
];
