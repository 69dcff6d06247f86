import { mintToken } from '../../src/auth/mint.ts';
import type { HeraldConfig } from '../../src/config/definitions.ts';
import { startHerald, type RunningHerald } from '../../src/start.ts';

export const TEST_KEY = 'test-secret-key-0123456789';

/** A hub on 127.0.0.1:0 with an HS256 key; logs silenced unless HERALD_TEST_LOGS is set. */
export function startTestHub(config: Partial<HeraldConfig> = {}): Promise<RunningHerald> {
  return startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: TEST_KEY,
    logLevel: process.env['HERALD_TEST_LOGS'] ? 'debug' : 'silent',
    heartbeat: 15_000,
    ...config,
  });
}

export function hubUrl(h: RunningHerald, query = ''): string {
  return `${h.url}${h.config.path}${query}`;
}

export const publisherToken = (publish: string[] = ['*'], key = TEST_KEY) =>
  mintToken({ secret: key, publish });
export const subscriberToken = (
  subscribe: string[] = ['*'],
  key = TEST_KEY,
  extra: { subject?: string; ttl?: string } = {},
) => mintToken({ secret: key, subscribe, ...extra });

export interface PublishResult {
  status: number;
  body: string;
  headers: Headers;
}

/** POSTs a form-encoded update (fields may repeat, e.g. several `topic`). */
export async function publishForm(
  h: RunningHerald,
  fields: [string, string][],
  token?: string,
): Promise<PublishResult> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  const res = await fetch(hubUrl(h), {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export async function publishJson(h: RunningHerald, body: unknown, token?: string): Promise<PublishResult> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  const res = await fetch(hubUrl(h), {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
